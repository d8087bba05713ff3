// The Mandelbrot workload as a kernel of the public API: the escape counts of a job's pixels,
// with host, simd, OpenCL and CUDA implementations, run on any node through Runtime as a user's
// kernel is. Its counts equal Runtime::run(Job)'s bit for bit on every node.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "hetero/job.hpp"
#include "hetero/kernel.hpp"
#include "hetero/runtime.hpp"

namespace hetero {

/// A 1-D kernel over a job's pixels in row-major order. Parameters: the column axis xs[width]
/// and the row axis ys[height] (read whole), the counts (one per pixel, written), the image's
/// width and max-iter.
template <class Real>
using MandelbrotKernel = Kernel<Tile1D, View<const Real>, View<const Real>, View<std::uint32_t>,
                                std::int64_t, std::uint32_t>;

/// The kernel of `Real` (float or double) and `mode`, named "mandelbrot.fp64.exact" and so on
/// (".NAME" added for another tile kernel); the same object on every call. Host nodes run the
/// host tile kernel `tile_kernel` (scalar, simd-cycles, simd, simd-shortcuts; another name is a
/// UsageError naming those this build has) and count the iterations it performed; the simd node
/// runs its default, simd-cycles, when `tile_kernel` is scalar. OpenCL devices run
/// kernels/opencl/mandelbrot.cl and, in a build with CUDA, the cuda and thrust nodes a CUDA kernel
/// of the same point function; their work is the iterations their counts stand for (Kernel::work).
template <class Real>
const MandelbrotKernel<Real>& mandelbrot_kernel(Mode mode, std::string_view tile_kernel = "scalar");

/// Computes `job` on `runtime` through mandelbrot_kernel of the job's precision and mode,
/// writing its counts (width x height, row-major) to `counts`. Without a tile size, tiles are
/// sized as Runtime::run(Job) sizes them (auto_tile_pixels). The report carries the counts'
/// checksum. Throws UsageError when `counts` does not hold one count per pixel.
LaunchResult run_mandelbrot(Runtime& runtime, const Job& job, std::span<std::uint32_t> counts,
                            LaunchOptions options = {});

}  // namespace hetero

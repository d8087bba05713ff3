// Host interface of the CUDA Mandelbrot kernels: one launch per tile on a stream, for every
// (precision, mode, kernel); callable from host C++ that never sees device code.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

// CountsKernel, counts_kernel_name() and counts_kernel_from_environment() (HETERO_CUDA_KERNEL).
#include "cuda/refill.hpp"

namespace hetero::kernels::cuda {

/// Enqueues the counts of pixels [begin, end) on `stream` into out[pixel] (out indexed by pixel,
/// xs and ys by column and row, as Real = double if fp64 else float, in device memory): the CUDA
/// implementation of hetero::mandelbrot_kernel, each count equal to point<Real, A>'s. Unless
/// `iterations` (device memory) is null, adds the iterations these pixels cost (iterations_of
/// summed) to *iterations. An empty range launches nothing. Returns the launch's status.
cudaError_t launch_counts(bool fp64, bool fma, CountsKernel kernel, const void* xs, const void* ys,
                          std::int64_t width, std::int64_t begin, std::int64_t end,
                          std::uint32_t max_iter, std::uint32_t* out, std::uint64_t* iterations,
                          cudaStream_t stream);

/// Sets *pixels to the pixels one full wave of the kernel covers on `device`: multiprocessors x
/// resident blocks per multiprocessor x pixels per block (its threads for per_pixel, its chunk
/// for refill). Leaves the current device as it found it.
cudaError_t counts_wave_pixels(bool fp64, bool fma, CountsKernel kernel, int device,
                               std::int64_t* pixels);

/// Loads every instantiation of the counts kernels on the current device (lazy module loading
/// would otherwise load each on its first, timed, launch) by an empty launch of each on
/// `stream`. Returns the first error.
cudaError_t warm_up_counts_kernels(cudaStream_t stream);

}  // namespace hetero::kernels::cuda

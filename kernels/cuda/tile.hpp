// Host interface of the CUDA Mandelbrot kernel: one launch per tile on a stream, for every
// (precision, mode); callable from host C++ that never sees device code.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace hetero::kernels::cuda {

/// Enqueues the counts of pixels [begin, end) on `stream`, one thread each, into out[pixel]
/// (out indexed by pixel, xs and ys by column and row): the CUDA implementation of
/// hetero::mandelbrot_kernel. Returns the launch's status.
cudaError_t launch_counts(bool fp64, bool fma, const void* xs, const void* ys, std::int64_t width,
                          std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                          std::uint32_t* out, cudaStream_t stream);

}  // namespace hetero::kernels::cuda

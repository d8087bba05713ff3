// Host interface of the CUDA tile kernel: one launch per tile on a stream, for every
// (precision, mode); callable from host C++ that never sees device code.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace hetero::kernels::cuda {

/// One tile of a job, in device memory. xs and ys hold `width` and `height` values of the
/// job's precision (float or double).
struct TileLaunch {
  const void* xs = nullptr;
  const void* ys = nullptr;
  std::int64_t width = 0;
  std::int64_t begin = 0;   ///< first pixel of the tile (row-major)
  std::int64_t pixels = 0;  ///< pixels in the tile; out has room for them
  std::uint32_t max_iter = 0;
  std::uint32_t* out = nullptr;
  unsigned long long* chunk_counter = nullptr;  ///< scratch the launch zeroes on its stream
};

/// Blocks of the kernel for (fp64, fma) that fit on one multiprocessor of the current device
/// at once: grid = this times the multiprocessor count is one wave of persistent blocks.
cudaError_t resident_blocks_per_multiprocessor(bool fp64, bool fma, int* blocks);

/// Enqueues the tile on `stream`: zeroes the chunk counter, then launches at most
/// `max_blocks` blocks (never more than the tile has work for). Returns the launch's status;
/// the results are ready when the stream reaches this point.
cudaError_t launch_tile(bool fp64, bool fma, const TileLaunch& tile, int max_blocks,
                        cudaStream_t stream);

/// Enqueues the counts of pixels [begin, end) on `stream`, one thread each, into out[pixel]
/// (out indexed by pixel, xs and ys by column and row): the CUDA implementation of
/// hetero::mandelbrot_kernel. Returns the launch's status.
cudaError_t launch_counts(bool fp64, bool fma, const void* xs, const void* ys, std::int64_t width,
                          std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                          std::uint32_t* out, cudaStream_t stream);

}  // namespace hetero::kernels::cuda

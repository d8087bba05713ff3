// CUDA tile kernel: persistent blocks whose warps pull chunks of a tile from an atomic counter,
// each pixel computed by the single-source point function.
#pragma once

#include <cstdint>

#include "mandelbrot.hpp"

namespace hetero::kernels::cuda {

/// Threads per block: eight warps.
inline constexpr int kBlockThreads = 256;
inline constexpr int kWarpThreads = 32;
/// Pixels a warp claims at a time: four per lane. Small enough that a warp stuck on a slow
/// chunk leaves the rest of the tile to the others, large enough that claims stay rare.
inline constexpr std::int64_t kChunkPixels = 4 * kWarpThreads;

/// Computes pixels [begin, begin + pixels) of a row-major image `width` wide into
/// out[0, pixels). `next_chunk` must be zero at launch; the grid may have any number of blocks
/// of kBlockThreads threads (whole warps): every warp takes chunks until none is left, so a
/// grid that fills the device once (persistent blocks) balances divergent tiles by itself.
template <class Real, Arith A>
__global__ void __launch_bounds__(kBlockThreads)
    tile_kernel(const Real* __restrict__ xs, const Real* __restrict__ ys, std::int64_t width,
                std::int64_t begin, std::int64_t pixels, std::uint32_t max_iter,
                std::uint32_t* __restrict__ out, unsigned long long* __restrict__ next_chunk) {
  const unsigned lane = threadIdx.x % kWarpThreads;
  const auto chunks = static_cast<unsigned long long>((pixels + kChunkPixels - 1) / kChunkPixels);
  for (;;) {
    // One claim per warp, broadcast to its lanes: the exit test below is warp-uniform, so the
    // whole warp is converged at every __shfl_sync.
    unsigned long long chunk = 0;
    if (lane == 0) chunk = atomicAdd(next_chunk, 1ULL);
    chunk = __shfl_sync(0xffffffffU, chunk, 0);
    if (chunk >= chunks) return;
    const auto first = static_cast<std::int64_t>(chunk) * kChunkPixels;
    const std::int64_t last = first + kChunkPixels < pixels ? first + kChunkPixels : pixels;
    // Consecutive lanes take consecutive pixels: coalesced loads of xs and stores of out.
    for (std::int64_t p = first + lane; p < last; p += kWarpThreads) {
      const std::int64_t pixel = begin + p;
      const std::int64_t row = pixel / width;
      const std::int64_t col = pixel - row * width;
      out[p] = point<Real, A>(xs[col], ys[row], max_iter);
    }
  }
}

/// The public kernel's form (hetero::mandelbrot_kernel): one thread per pixel of [begin, end),
/// each writing out[pixel], out being indexed by pixel.
template <class Real, Arith A>
__global__ void __launch_bounds__(kBlockThreads)
    counts_kernel(const Real* __restrict__ xs, const Real* __restrict__ ys, std::int64_t width,
                  std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                  std::uint32_t* __restrict__ out) {
  const std::int64_t pixel =
      begin + static_cast<std::int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x;
  if (pixel >= end) return;
  const std::int64_t row = pixel / width;
  out[pixel] = point<Real, A>(xs[pixel - row * width], ys[row], max_iter);
}

}  // namespace hetero::kernels::cuda

// CUDA Mandelbrot kernel: one thread per pixel, each computed by the single-source point
// function.
#pragma once

#include <cstdint>

#include "mandelbrot.hpp"

namespace hetero::kernels::cuda {

/// Threads per block: eight warps.
inline constexpr int kBlockThreads = 256;
/// The counts of pixels [begin, end), one thread each, writing out[pixel] (out indexed by
/// pixel): hetero::mandelbrot_kernel's CUDA implementation.
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

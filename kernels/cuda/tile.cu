// The CUDA Mandelbrot kernel instantiated for fp32/fp64 x exact/fma, and its launcher.
#include "cuda/tile.cuh"
#include "cuda/tile.hpp"

namespace hetero::kernels::cuda {
namespace {

template <class Real, Arith A>
cudaError_t launch_counts(const void* xs, const void* ys, std::int64_t width, std::int64_t begin,
                          std::int64_t end, std::uint32_t max_iter, std::uint32_t* out,
                          cudaStream_t stream) {
  if (end <= begin) return cudaSuccess;
  const auto blocks = static_cast<unsigned>((end - begin + kBlockThreads - 1) / kBlockThreads);
  counts_kernel<Real, A><<<blocks, kBlockThreads, 0, stream>>>(
      static_cast<const Real*>(xs), static_cast<const Real*>(ys), width, begin, end, max_iter, out);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_counts(bool fp64, bool fma, const void* xs, const void* ys, std::int64_t width,
                          std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                          std::uint32_t* out, cudaStream_t stream) {
  if (fp64) {
    return fma ? launch_counts<double, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
               : launch_counts<double, Arith::exact>(xs, ys, width, begin, end, max_iter, out,
                                                     stream);
  }
  return fma ? launch_counts<float, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
             : launch_counts<float, Arith::exact>(xs, ys, width, begin, end, max_iter, out, stream);
}

}  // namespace hetero::kernels::cuda

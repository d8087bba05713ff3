// The CUDA Mandelbrot kernels instantiated for fp32/fp64 x exact/fma, their launcher, wave size
// and warm-up.
#include <climits>

#include "cuda/tile.cuh"
#include "cuda/tile.hpp"

namespace hetero::kernels::cuda {
namespace {

/// A kernel instantiation and its launch shape.
struct Entry {
  const void* function;
  int threads;                    // per block
  std::int64_t pixels_per_block;  // at most
};

template <class Real, Arith A>
Entry entry(CountsKernel kernel) {
  if (kernel == CountsKernel::per_pixel) {
    return {reinterpret_cast<const void*>(&counts_kernel<Real, A>), kBlockThreads, kBlockThreads};
  }
  return {reinterpret_cast<const void*>(&refill_counts_kernel<Real, A>), kRefillBlockThreads,
          kRefillChunk};
}

Entry entry(bool fp64, bool fma, CountsKernel kernel) {
  if (fp64) return fma ? entry<double, Arith::fma>(kernel) : entry<double, Arith::exact>(kernel);
  return fma ? entry<float, Arith::fma>(kernel) : entry<float, Arith::exact>(kernel);
}

/// Launches `blocks` blocks of the kernel over [begin, end) (no check of the range).
template <class Real, Arith A>
void enqueue(CountsKernel kernel, unsigned blocks, const void* xs, const void* ys,
             std::int64_t width, std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
             std::uint32_t* out, std::uint64_t* iterations, cudaStream_t stream) {
  const auto* real_xs = static_cast<const Real*>(xs);
  const auto* real_ys = static_cast<const Real*>(ys);
  if (kernel == CountsKernel::per_pixel) {
    counts_kernel<Real, A><<<blocks, kBlockThreads, 0, stream>>>(real_xs, real_ys, width, begin,
                                                                 end, max_iter, out, iterations);
  } else {
    refill_counts_kernel<Real, A><<<blocks, kRefillBlockThreads, 0, stream>>>(
        real_xs, real_ys, width, begin, end, max_iter, out, iterations);
  }
}

template <class Real, Arith A>
cudaError_t launch_counts(CountsKernel kernel, const void* xs, const void* ys, std::int64_t width,
                          std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                          std::uint32_t* out, std::uint64_t* iterations, cudaStream_t stream) {
  if (end <= begin) return cudaSuccess;
  const std::int64_t per_block = entry<Real, A>(kernel).pixels_per_block;
  const std::int64_t blocks = (end - begin + per_block - 1) / per_block;
  if (blocks > INT_MAX) return cudaErrorInvalidValue;  // a grid's x dimension
  enqueue<Real, A>(kernel, static_cast<unsigned>(blocks), xs, ys, width, begin, end, max_iter, out,
                   iterations, stream);
  return cudaGetLastError();
}

/// One block over an empty range: loads the instantiation, computes nothing.
template <class Real, Arith A>
cudaError_t warm_up(CountsKernel kernel, cudaStream_t stream) {
  enqueue<Real, A>(kernel, 1, nullptr, nullptr, 1, 0, 0, 0, nullptr, nullptr, stream);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_counts(bool fp64, bool fma, CountsKernel kernel, const void* xs, const void* ys,
                          std::int64_t width, std::int64_t begin, std::int64_t end,
                          std::uint32_t max_iter, std::uint32_t* out, std::uint64_t* iterations,
                          cudaStream_t stream) {
  if (fp64) {
    return fma ? launch_counts<double, Arith::fma>(kernel, xs, ys, width, begin, end, max_iter, out,
                                                   iterations, stream)
               : launch_counts<double, Arith::exact>(kernel, xs, ys, width, begin, end, max_iter,
                                                     out, iterations, stream);
  }
  return fma ? launch_counts<float, Arith::fma>(kernel, xs, ys, width, begin, end, max_iter, out,
                                                iterations, stream)
             : launch_counts<float, Arith::exact>(kernel, xs, ys, width, begin, end, max_iter, out,
                                                  iterations, stream);
}

cudaError_t counts_wave_pixels(bool fp64, bool fma, CountsKernel kernel, int device,
                               std::int64_t* pixels) {
  if (pixels == nullptr) return cudaErrorInvalidValue;
  const Entry e = entry(fp64, fma, kernel);
  int multiprocessors = 0;
  cudaError_t status =
      cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device);
  if (status != cudaSuccess) return status;
  // The occupancy query reads the current device.
  int current = 0;
  status = cudaGetDevice(&current);
  if (status != cudaSuccess) return status;
  if (current != device && (status = cudaSetDevice(device)) != cudaSuccess) return status;
  int blocks = 0;
  status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, e.function, e.threads, 0);
  if (current != device) {
    const cudaError_t restored = cudaSetDevice(current);
    if (status == cudaSuccess) status = restored;
  }
  if (status != cudaSuccess) return status;
  *pixels = std::int64_t{multiprocessors} * blocks * e.pixels_per_block;
  return cudaSuccess;
}

cudaError_t warm_up_counts_kernels(cudaStream_t stream) {
  using WarmUp = cudaError_t (*)(CountsKernel, cudaStream_t);
  for (const WarmUp warm : {&warm_up<float, Arith::exact>, &warm_up<float, Arith::fma>,
                            &warm_up<double, Arith::exact>, &warm_up<double, Arith::fma>}) {
    for (const CountsKernel kernel : {CountsKernel::refill, CountsKernel::per_pixel}) {
      const cudaError_t status = warm(kernel, stream);
      if (status != cudaSuccess) return status;
    }
  }
  return cudaSuccess;
}

}  // namespace hetero::kernels::cuda

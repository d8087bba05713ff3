// Thrust tile kernel: the point function as a functor over pixel indices, for thrust::transform
// over a counting iterator. One source for every Thrust system: the thrust node's CUDA build
// (nvcc) and its OpenMP one (a host compiler with THRUST_DEVICE_SYSTEM_OMP) differ only in the
// policy they pass.
#pragma once

#include <cstdint>

#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform.h>
#include <thrust/transform_reduce.h>

#include "mandelbrot.hpp"

#if defined(__CUDACC__)
#define HETERO_THRUST_FN __host__ __device__
#else
#define HETERO_THRUST_FN
#endif

namespace hetero::kernels::thrust {

/// The count of pixel `pixel` (row-major) of an image `width` wide; xs and ys point to the job's
/// axes in the system's memory.
template <class Real, Arith A>
struct PixelCount {
  const Real* xs;
  const Real* ys;
  std::int64_t width;
  std::uint32_t max_iter;

  HETERO_THRUST_FN std::uint32_t operator()(std::int64_t pixel) const {
    const std::int64_t row = pixel / width;
    const std::int64_t col = pixel - row * width;
    return point<Real, A>(xs[col], ys[row], max_iter);
  }
};

/// Computes pixels [begin, end) into out[0, end - begin) with `policy` (e.g.
/// ::thrust::cuda::par_nosync.on(stream), or ::thrust::omp::par).
template <class Real, Arith A, class Policy>
void tile(const Policy& policy, const Real* xs, const Real* ys, std::int64_t width,
          std::int64_t begin, std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  ::thrust::transform(policy, ::thrust::counting_iterator<std::int64_t>(begin),
                      ::thrust::counting_iterator<std::int64_t>(end), out,
                      PixelCount<Real, A>{xs, ys, width, max_iter});
}

/// The count of a pixel, written to out[pixel - begin]; returns the iterations it stands for.
template <class Real, Arith A>
struct WrittenPixelCount {
  PixelCount<Real, A> count;
  std::uint32_t* out;
  std::int64_t begin;

  HETERO_THRUST_FN std::uint64_t operator()(std::int64_t pixel) const {
    const std::uint32_t value = count(pixel);
    out[pixel - begin] = value;
    return iterations_of(value, count.max_iter);
  }
};

/// tile() that also sums the iterations the counts stand for, in the same pass (one
/// thrust::transform_reduce; it returns when done, so it suits a host system such as OpenMP).
template <class Real, Arith A, class Policy>
std::uint64_t tile_counting(const Policy& policy, const Real* xs, const Real* ys,
                            std::int64_t width, std::int64_t begin, std::int64_t end,
                            std::uint32_t max_iter, std::uint32_t* out) {
  return ::thrust::transform_reduce(
      policy, ::thrust::counting_iterator<std::int64_t>(begin),
      ::thrust::counting_iterator<std::int64_t>(end),
      WrittenPixelCount<Real, A>{{xs, ys, width, max_iter}, out, begin}, std::uint64_t{0},
      ::thrust::plus<std::uint64_t>());
}

}  // namespace hetero::kernels::thrust

// Thrust tile kernel: the point function as a functor over pixel indices, for
// thrust::transform over a counting iterator.
#pragma once

#include <cstdint>

#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform.h>

#include "mandelbrot.hpp"

namespace hetero::kernels::thrust {

/// The count of pixel `pixel` (row-major) of an image `width` wide; xs and ys are device
/// pointers to the job's axes.
template <class Real, Arith A>
struct PixelCount {
  const Real* xs;
  const Real* ys;
  std::int64_t width;
  std::uint32_t max_iter;

  __device__ std::uint32_t operator()(std::int64_t pixel) const {
    const std::int64_t row = pixel / width;
    const std::int64_t col = pixel - row * width;
    return point<Real, A>(xs[col], ys[row], max_iter);
  }
};

/// Computes pixels [begin, end) into out[0, end - begin) with `policy` (a device policy,
/// e.g. ::thrust::cuda::par.on(stream)).
template <class Real, Arith A, class Policy>
void tile(const Policy& policy, const Real* xs, const Real* ys, std::int64_t width,
          std::int64_t begin, std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  ::thrust::transform(policy, ::thrust::counting_iterator<std::int64_t>(begin),
                      ::thrust::counting_iterator<std::int64_t>(end), out,
                      PixelCount<Real, A>{xs, ys, width, max_iter});
}

}  // namespace hetero::kernels::thrust

// The thrust node's device side: one thrust::transform per tile.
#include "nodes/thrust/counts.hpp"

#include <string>

#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system_error.h>

#include "hetero/error.hpp"
#include "thrust/tile.cuh"

namespace hetero::nodes::thrust_device {
namespace {

using kernels::Arith;

template <class Real, Arith A>
void transform(const void* xs, const void* ys, std::int64_t width, std::int64_t begin,
               std::int64_t end, std::uint32_t max_iter, std::uint32_t* out, cudaStream_t stream) {
  kernels::thrust::tile<Real, A>(::thrust::cuda::par_nosync.on(stream),
                                 static_cast<const Real*>(xs), static_cast<const Real*>(ys), width,
                                 begin, end, max_iter, out + begin);
}

}  // namespace

void transform_counts(bool fp64, bool fma, const void* xs, const void* ys, std::int64_t width,
                      std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                      std::uint32_t* out, cudaStream_t stream) {
  if (end <= begin) return;
  try {
    if (fp64) {
      fma ? transform<double, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
          : transform<double, Arith::exact>(xs, ys, width, begin, end, max_iter, out, stream);
    } else {
      fma ? transform<float, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
          : transform<float, Arith::exact>(xs, ys, width, begin, end, max_iter, out, stream);
    }
  } catch (const ::thrust::system_error& e) {
    throw Error(std::string("thrust: thrust::transform of the Mandelbrot counts failed: ") +
                e.what());
  }
}

}  // namespace hetero::nodes::thrust_device

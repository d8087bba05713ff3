// The Mandelbrot counts on Thrust's OpenMP system. Built with THRUST_DEVICE_SYSTEM_OMP (see
// CMakeLists.txt): this file never needs a CUDA compiler or runtime.
#include "nodes/thrust/omp_counts.hpp"

#include <omp.h>

#include <thrust/system/omp/execution_policy.h>
#include <thrust/version.h>

#include <fmt/format.h>

#include "thrust/tile.cuh"

namespace hetero::nodes::thrust_omp {
namespace {

using kernels::Arith;

template <class Real, Arith A>
std::uint64_t counts(const void* xs, const void* ys, std::int64_t width, std::int64_t begin,
                     std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  return kernels::thrust::tile_counting<Real, A>(::thrust::omp::par, static_cast<const Real*>(xs),
                                                 static_cast<const Real*>(ys), width, begin, end,
                                                 max_iter, out + begin);
}

}  // namespace

std::uint64_t transform_counts(bool fp64, bool fma, const void* xs, const void* ys,
                               std::int64_t width, std::int64_t begin, std::int64_t end,
                               std::uint32_t max_iter, std::uint32_t* out) {
  if (end <= begin) return 0;
  if (fp64) {
    return fma ? counts<double, Arith::fma>(xs, ys, width, begin, end, max_iter, out)
               : counts<double, Arith::exact>(xs, ys, width, begin, end, max_iter, out);
  }
  return fma ? counts<float, Arith::fma>(xs, ys, width, begin, end, max_iter, out)
             : counts<float, Arith::exact>(xs, ys, width, begin, end, max_iter, out);
}

std::string system_version() {
  return fmt::format("Thrust {}.{}.{}", THRUST_MAJOR_VERSION, THRUST_MINOR_VERSION,
                     THRUST_SUBMINOR_VERSION);
}

int threads() {
  return omp_get_max_threads();
}

}  // namespace hetero::nodes::thrust_omp

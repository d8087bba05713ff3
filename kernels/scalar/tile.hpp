// Scalar tile kernel: one pixel at a time through the point function, for the host nodes.
#pragma once

#include <cstdint>

#include "mandelbrot.hpp"

namespace hetero::kernels {
inline namespace HETERO_KERNELS_ISA {
namespace scalar {

/// Computes pixels [begin, end) (row-major over an image `width` wide) into out[0, end-begin)
/// and returns the iterations performed.
template <class Real, Arith A>
std::uint64_t tile(const Real* xs, const Real* ys, std::int64_t width, std::int64_t begin,
                   std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  std::uint64_t iterations = 0;
  std::int64_t row = begin / width;
  std::int64_t col = begin % width;
  for (std::int64_t p = begin; p < end; ++p) {
    const std::uint32_t count = point<Real, A>(xs[col], ys[row], max_iter);
    *out++ = count;
    iterations += iterations_of(count, max_iter);
    if (++col == width) {
      col = 0;
      ++row;
    }
  }
  return iterations;
}

}  // namespace scalar
}  // namespace HETERO_KERNELS_ISA
}  // namespace hetero::kernels

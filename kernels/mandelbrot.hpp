// The workload's arithmetic, written once: the Mandelbrot point function every host and
// device backend compiles (the OpenCL C source in opencl/ mirrors it line for line).
//
// Contract (see the design's workload section): from z = 0, iterate
//   exact: x' = (x*x - y*y) + cx,          y' = (2*x)*y + cy,   escape if x'*x' + y'*y' > 4
//   fma:   x' = fma(x, x, fma(-y, y, cx)),  y' = fma(2*x, y, cy), escape if fma(x', x', y'*y') > 4
// and return the 0-based iteration at which z escaped, or max_iter if it never did.
// Host code is built with -ffp-contract=off and CUDA with --fmad=false, so no other fused
// operation appears and every backend rounds identically.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define HETERO_KERNEL_FN __host__ __device__ __forceinline__
#else
#define HETERO_KERNEL_FN inline
#endif

// The code is compiled once for every host (namespace generic) and, where a source asks for it
// by defining HETERO_KERNELS_ISA first, again for an instruction set (scalar/tile_fma.cpp): the
// inline namespace keeps the two apart, so no definition is shared between them.
#ifndef HETERO_KERNELS_ISA
#define HETERO_KERNELS_ISA generic
#endif

namespace hetero::kernels {

/// Same enumerators as hetero::Mode; kept separate so device code needs no host headers.
enum class Arith : std::uint8_t { exact, fma };

inline namespace HETERO_KERNELS_ISA {

template <class Real>
HETERO_KERNEL_FN Real fused(Real a, Real b, Real c) {
#if defined(__CUDA_ARCH__)
  return ::fma(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

/// One step of the recurrence; returns |z'|^2 computed as the contract fixes it.
template <class Real, Arith A>
HETERO_KERNEL_FN Real step(Real& x, Real& y, Real cx, Real cy) {
  if constexpr (A == Arith::exact) {
    const Real xn = (x * x - y * y) + cx;
    const Real yn = (Real(2) * x) * y + cy;
    x = xn;
    y = yn;
    return x * x + y * y;
  } else {
    const Real xn = fused(x, x, fused(-y, y, cx));
    const Real yn = fused(Real(2) * x, y, cy);
    x = xn;
    y = yn;
    return fused(x, x, y * y);
  }
}

/// One step of the recurrence; true when z escaped. Exact mode keeps the squares the escape
/// test computes (xx = x * x, yy = y * y) for the next step, which needs the same products:
/// the same bits as step(), two multiplies fewer. Fma mode fuses them and has none to keep.
template <class Real, Arith A>
HETERO_KERNEL_FN bool escapes(Real& x, Real& y, Real& xx, Real& yy, Real cx, Real cy) {
  if constexpr (A == Arith::exact) {
    const Real xn = (xx - yy) + cx;
    y = (Real(2) * x) * y + cy;
    x = xn;
    xx = x * x;
    yy = y * y;
    return xx + yy > Real(4);
  } else {
    return step<Real, A>(x, y, cx, cy) > Real(4);
  }
}

/// point() two steps a round: one loop test for every two escape tests, fewer instructions per
/// iteration where throughput, not latency, bounds the loop (a GPU).
template <class Real, Arith A>
HETERO_KERNEL_FN std::uint32_t point_two_steps_a_round(Real cx, Real cy, std::uint32_t max_iter) {
  Real x = 0, y = 0, xx = 0, yy = 0;
  std::uint32_t i = 0;
  for (; i + 2 <= max_iter; i += 2) {
    if (escapes<Real, A>(x, y, xx, yy, cx, cy)) return i;
    if (escapes<Real, A>(x, y, xx, yy, cx, cy)) return i + 1;
  }
  if (i < max_iter && escapes<Real, A>(x, y, xx, yy, cx, cy)) return i;
  return max_iter;
}

/// Iteration count of the point c = (cx, cy). Device code takes two steps a round; host code
/// one, which the host's latency-bound loop runs faster.
template <class Real, Arith A>
HETERO_KERNEL_FN std::uint32_t point(Real cx, Real cy, std::uint32_t max_iter) {
#if defined(__CUDA_ARCH__)
  return point_two_steps_a_round<Real, A>(cx, cy, max_iter);
#else
  Real x = 0, y = 0, xx = 0, yy = 0;
  for (std::uint32_t i = 0; i < max_iter; ++i) {
    if (escapes<Real, A>(x, y, xx, yy, cx, cy)) return i;
  }
  return max_iter;
#endif
}

/// Iterations a pixel with this count cost (count + 1 if it escaped, else max_iter).
HETERO_KERNEL_FN std::uint64_t iterations_of(std::uint32_t count, std::uint32_t max_iter) {
  return count >= max_iter ? max_iter : std::uint64_t{count} + 1;
}

}  // namespace HETERO_KERNELS_ISA
}  // namespace hetero::kernels

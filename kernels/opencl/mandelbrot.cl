// The Mandelbrot tile kernel in OpenCL C: kernels/mandelbrot.hpp's point function, line for line.
//
// Built once per (precision, mode) with these options:
//   -DHETERO_FP64=1 (double, needs cl_khr_fp64) or -DHETERO_FP64=0 (float)
//   -DHETERO_FMA=1  (fused multiply-adds written out with fma()) or -DHETERO_FMA=0 (exact)
// No contraction: every product is rounded before it is added unless fma() says otherwise, so the
// counts equal the host's bit for bit.
#pragma OPENCL FP_CONTRACT OFF

#if HETERO_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#else
typedef float real;
#endif

// One step of the recurrence; returns |z'|^2 computed as the contract fixes it.
inline real step(real* x, real* y, const real cx, const real cy) {
#if HETERO_FMA
  const real xn = fma(*x, *x, fma(-*y, *y, cx));
  const real yn = fma((real)2 * *x, *y, cy);
  *x = xn;
  *y = yn;
  return fma(xn, xn, yn * yn);
#else
  const real xn = (*x * *x - *y * *y) + cx;
  const real yn = ((real)2 * *x) * *y + cy;
  *x = xn;
  *y = yn;
  return xn * xn + yn * yn;
#endif
}

// Pixels [begin, end) of a row-major image `width` wide. `axes` holds the column axis xs[width]
// followed by the row axis ys[height]. Work-item i computes pixel begin + i and writes its count to
// counts[i]; work-items past `end` (the launch is rounded up to whole work-groups) do nothing.
// The count is the 0-based iteration at which z escaped, or max_iter if it never did.
__kernel void mandelbrot_tile(__global const real* axes, const long width, const long begin,
                              const long end, const uint max_iter, __global uint* counts) {
  const long i = (long)get_global_id(0);
  const long pixel = begin + i;
  if (pixel >= end) return;
  const real cx = axes[pixel % width];
  const real cy = axes[width + pixel / width];
  real x = 0;
  real y = 0;
  uint count = max_iter;
  for (uint n = 0; n < max_iter; ++n) {
    if (step(&x, &y, cx, cy) > (real)4) {
      count = n;
      break;
    }
  }
  counts[i] = count;
}

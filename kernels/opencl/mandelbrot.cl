// The Mandelbrot kernel in OpenCL C: kernels/mandelbrot.hpp's point function, line for line.
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

// The 0-based iteration at which z escaped for c = (cx, cy), or max_iter if it never did.
inline uint escape_count(const real cx, const real cy, const uint max_iter) {
  real x = 0;
  real y = 0;
  for (uint n = 0; n < max_iter; ++n) {
    if (step(&x, &y, cx, cy) > (real)4) return n;
  }
  return max_iter;
}

// The counts as hetero::mandelbrot_kernel runs them: work-item i is pixel i of the image (the
// runtime launches a tile at its offset), and each array is followed by its origin
// (OpenCLOptions::array_origins: the index of the buffer's first element in the array).
__kernel void mandelbrot_counts(__global const real* xs, const long xs_origin,
                                __global const real* ys, const long ys_origin,
                                __global uint* counts, const long counts_origin, const long width,
                                const uint max_iter) {
  const long pixel = (long)get_global_id(0);
  counts[pixel - counts_origin] =
      escape_count(xs[pixel % width - xs_origin], ys[pixel / width - ys_origin], max_iter);
}

// The Mandelbrot kernel in OpenCL C: kernels/mandelbrot.hpp's device form of the point function
// (escapes, point_two_steps_a_round), line for line. It runs on GPUs and any device but CPUs,
// which run mandelbrot_cpu.cl.
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

// One step of the recurrence; true when z escaped. Exact mode keeps the squares the escape
// test computed (*xx, *yy) for the next step, which computes the same products.
inline bool escapes(real* x, real* y, real* xx, real* yy, const real cx, const real cy) {
#if HETERO_FMA
  const real xn = fma(*x, *x, fma(-*y, *y, cx));
  const real yn = fma((real)2 * *x, *y, cy);
  *x = xn;
  *y = yn;
  return fma(xn, xn, yn * yn) > (real)4;
#else
  const real xn = (*xx - *yy) + cx;
  *y = ((real)2 * *x) * *y + cy;
  *x = xn;
  *xx = xn * xn;
  *yy = *y * *y;
  return *xx + *yy > (real)4;
#endif
}

// The 0-based iteration at which z escaped for c = (cx, cy), or max_iter if it never did; two
// steps a round.
inline uint escape_count(const real cx, const real cy, const uint max_iter) {
  real x = 0;
  real y = 0;
  real xx = 0;
  real yy = 0;
  uint n = 0;
  for (; n + 2 <= max_iter; n += 2) {
    if (escapes(&x, &y, &xx, &yy, cx, cy)) return n;
    if (escapes(&x, &y, &xx, &yy, cx, cy)) return n + 1;
  }
  if (n < max_iter && escapes(&x, &y, &xx, &yy, cx, cy)) return n;
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

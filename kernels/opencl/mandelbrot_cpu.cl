// The Mandelbrot kernel in OpenCL C for CPU devices: each work-item computes a chunk of pixels
// on vectors (double8 or float16: one AVX-512 register), with kernels/simd/tile.cpp's method, so
// the counts are those of kernels/mandelbrot.hpp's point function bit for bit.
//
// Built once per (precision, mode) with these options:
//   -DHETERO_FP64=1 (double, needs cl_khr_fp64) or -DHETERO_FP64=0 (float)
//   -DHETERO_FMA=1  (fused multiply-adds written out with fma()) or -DHETERO_FMA=0 (exact)
//   -DHETERO_CHUNK=<pixels>: the pixels one work-item computes (OpenCLOptions::elements_per_item)
// No contraction: every product is rounded before it is added unless fma() says otherwise.
//
// How a work-item computes its chunk (see kernels/simd/tile.cpp for the reasoning):
// - The chunk runs in rounds with growing iteration limits (32, 128, 512, ... up to max_iter).
// - The first round takes the chunk's pixels in order, FIRST_SLOTS vectors at a time, and tests
//   for escape after every step: most pixels of a typical image escape within a few iterations.
// - Later rounds take the survivors of the previous one (their z and c, compacted in place) and
//   iterate them in blocks with no test per step: the state is saved and |z|^2 screened every
//   SEGMENT steps only. A vector with a lane above the screen replays that segment from the
//   saved state with the test after every step, which finds the lane's escape iteration. A lane
//   that is done is zeroed (z = c = 0 never escapes), and a vector whose lanes are all done is
//   refilled with the next survivors.
// - SLOTS independent vectors are in flight, so that the dependency chain of one step is
//   covered by the others' work.
#pragma OPENCL FP_CONTRACT OFF

#if HETERO_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
typedef double8 realv;
typedef long8 intv;  // what a comparison of two double8 gives: -1 (true) or 0 per lane
#define LANES 8
#define VLOAD vload8
#define VSTORE vstore8
#define CONVERT_COUNTS convert_uint8
typedef long lane_int;
#define LANE_INDEX ((intv)(0, 1, 2, 3, 4, 5, 6, 7))
#define CONVERT_INDEX convert_long8
// Steps between two screens: see kSegmentSteps in kernels/simd/tile.cpp for why no escape
// within a segment is missed.
#define SEGMENT 16
#else
typedef float real;
typedef float16 realv;
typedef int16 intv;
#define LANES 16
#define VLOAD vload16
#define VSTORE vstore16
#define CONVERT_COUNTS convert_uint16
typedef int lane_int;
#define LANE_INDEX ((intv)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define CONVERT_INDEX convert_int16
#define SEGMENT 8
#endif

// Vectors in flight: enough independent work to cover the latency of one step's dependency
// chain (exact: sub, add, mul; fma: two fmas) within 32 vector registers. A vector holds 6
// registers in exact mode (x, y, x*x, y*y, cx, cy) and 4 in fma mode.
#ifndef SLOTS
#if HETERO_FMA
#define SLOTS 6
#else
#define SLOTS 4
#endif
#endif
#define FIRST_SLOTS 4     // vectors in flight in the first round
#define SEGMENTS 4        // segments per block: slots are examined and refilled once a block
#define FIRST_LIMIT 32u   // iteration limit of the first round
#define LIMIT_GROWTH 4u   // each later round's limit is 4 times the last
#define SCREEN ((real)3)  // |z|^2 above which a vector replays a segment
#define ESCAPE ((real)4)

// One step of the recurrence on every lane, exactly as kernels/mandelbrot.hpp's step(). In exact
// mode xx = x*x and yy = y*y carry over from one step to the next; (x + x) is 2*x bit for bit.
inline void advance(realv* x, realv* y, realv* xx, realv* yy, const realv cx, const realv cy) {
#if HETERO_FMA
  const realv xn = fma(*x, *x, fma(-*y, *y, cx));
  *y = fma(*x + *x, *y, cy);
  *x = xn;
#else
  const realv xn = (*xx - *yy) + cx;
  *y = (*x + *x) * *y + cy;
  *x = xn;
  *xx = xn * xn;
  *yy = *y * *y;
#endif
}

// |z|^2 as the contract's escape test computes it.
inline realv modulus2(const realv x, const realv y, const realv xx, const realv yy) {
#if HETERO_FMA
  return fma(x, x, y * y);
#else
  return xx + yy;
#endif
}

// The position of a pixel of a row-major image, advanced without division.
typedef struct {
  long row;
  long col;
} Cursor;

inline void advance_cursor(Cursor* at, const long pixels, const long width) {
  at->col += pixels;
  if (at->col >= width) {
    at->row += at->col / width;
    at->col %= width;
  }
}

// c of `valid` consecutive pixels from `at`, which moves past them; lanes past `valid` get c = 0.
inline void load_points(__global const real* xs, const long xs_origin, __global const real* ys,
                        const long ys_origin, const long width, Cursor* at, const int valid,
                        realv* cx, realv* cy) {
  if (valid == LANES && at->col + LANES <= width) {
    *cx = VLOAD(0, xs + (at->col - xs_origin));
    *cy = (realv)(ys[at->row - ys_origin]);
    advance_cursor(at, LANES, width);
    return;
  }
  real bx[LANES];
  real by[LANES];
  for (int l = 0; l < LANES; ++l) {
    bx[l] = 0;
    by[l] = 0;
    if (l < valid) {
      bx[l] = xs[at->col - xs_origin];
      by[l] = ys[at->row - ys_origin];
      advance_cursor(at, 1, width);
    }
  }
  *cx = VLOAD(0, bx);
  *cy = VLOAD(0, by);
}

// Pixels carried from one round to the next: z, c and the pixel's offset in the chunk. One
// vector of slack lets the last vector load whole.
typedef struct {
  real x[HETERO_CHUNK + LANES];
  real y[HETERO_CHUNK + LANES];
  real cx[HETERO_CHUNK + LANES];
  real cy[HETERO_CHUNK + LANES];
  int index[HETERO_CHUNK + LANES];
} Items;

// Appends the lanes of `keep` to the items, at *size.
inline void append(Items* items, uint* size, const intv keep, const realv x, const realv y,
                   const realv cx, const realv cy, const intv index) {
  real ax[LANES], ay[LANES], acx[LANES], acy[LANES];
  VSTORE(x, 0, ax);
  VSTORE(y, 0, ay);
  VSTORE(cx, 0, acx);
  VSTORE(cy, 0, acy);
  lane_int akeep[LANES], aindex[LANES];
  VSTORE(keep, 0, akeep);
  VSTORE(index, 0, aindex);
  uint n = *size;
  for (int l = 0; l < LANES; ++l) {
    if (akeep[l] != 0) {
      items->x[n] = ax[l];
      items->y[n] = ay[l];
      items->cx[n] = acx[l];
      items->cy[n] = acy[l];
      items->index[n] = (int)aindex[l];
      ++n;
    }
  }
  *size = n;
}

// Writes value[l] to the count of pixel index[l] for the lanes of `lanes`.
inline void store_lanes(__global uint* counts, const long first, const intv lanes, const intv index,
                        const intv value) {
  lane_int alanes[LANES], aindex[LANES], avalue[LANES];
  VSTORE(lanes, 0, alanes);
  VSTORE(index, 0, aindex);
  VSTORE(value, 0, avalue);
  for (int l = 0; l < LANES; ++l) {
    if (alanes[l] != 0) counts[first + aindex[l]] = (uint)avalue[l];
  }
}

// Round 1: the chunk's `pixels` pixels in order, FIRST_SLOTS vectors at a time, escape test after
// every step, up to `limit` iterations. Writes every pixel's count (the limit for those still
// running) and appends the survivors to `items` unless the limit is max_iter.
inline void first_round(__global const real* xs, const long xs_origin, __global const real* ys,
                        const long ys_origin, __global uint* counts, const long width,
                        Cursor cursor, const int pixels, const uint limit, const uint max_iter,
                        Items* items, uint* survivors) {
  for (int base = 0; base < pixels; base += FIRST_SLOTS * LANES) {
    realv x[FIRST_SLOTS], y[FIRST_SLOTS], xx[FIRST_SLOTS], yy[FIRST_SLOTS], cx[FIRST_SLOTS],
        cy[FIRST_SLOTS];
    intv active[FIRST_SLOTS], count[FIRST_SLOTS];
    int valid[FIRST_SLOTS];
#pragma unroll
    for (int g = 0; g < FIRST_SLOTS; ++g) {
      valid[g] = clamp(pixels - (base + g * LANES), 0, LANES);
      load_points(xs, xs_origin, ys, ys_origin, width, &cursor, valid[g], &cx[g], &cy[g]);
      active[g] = LANE_INDEX < (intv)(valid[g]);
      x[g] = y[g] = xx[g] = yy[g] = (realv)(0);
      count[g] = (intv)(0);
    }
    for (uint step = 0; step < limit; ++step) {
      intv any_active = (intv)(0);
#pragma unroll
      for (int g = 0; g < FIRST_SLOTS; ++g) {
        advance(&x[g], &y[g], &xx[g], &yy[g], cx[g], cy[g]);
        // Keep a lane while !(|z|^2 > 4), as the point function escapes on |z|^2 > 4: a NaN
        // never escapes.
        active[g] &= ~(modulus2(x[g], y[g], xx[g], yy[g]) > ESCAPE);
        count[g] -= active[g];  // a true lane is -1
        any_active |= active[g];
      }
      if (!any(any_active)) break;
    }
#pragma unroll
    for (int g = 0; g < FIRST_SLOTS; ++g) {
      if (valid[g] == 0) break;
      const int offset = base + g * LANES;
      if (valid[g] == LANES) {
        VSTORE(CONVERT_COUNTS(count[g]), 0, counts + offset);
      } else {
        store_lanes(counts, offset, LANE_INDEX < (intv)(valid[g]), LANE_INDEX, count[g]);
      }
      // Survivors ran `limit` steps without escaping; they carry their state to the next round.
      if (limit < max_iter && any(active[g])) {
        append(items, survivors, active[g], x[g], y[g], cx[g], cy[g], LANE_INDEX + (intv)(offset));
      }
    }
  }
}

// Fills a slot with the next vector of items (at iteration `start`), or leaves it idle (all
// zero) when none is left; returns 1 when it filled it, else 0.
inline int refill(const Items* items, const uint size, uint* next_item, const uint start, realv* x,
                  realv* y, realv* xx, realv* yy, realv* cx, realv* cy, intv* index, intv* running,
                  intv* result, uint* iteration) {
  *running = (intv)(0);
  *x = *y = *xx = *yy = *cx = *cy = (realv)(0);
  *index = *result = (intv)(0);
  if (*next_item >= size) return 0;
  const uint item = *next_item;
  *running = LANE_INDEX < (intv)((int)min((uint)LANES, size - item));
  *x = select((realv)(0), VLOAD(0, items->x + item), *running);
  *y = select((realv)(0), VLOAD(0, items->y + item), *running);
  *cx = select((realv)(0), VLOAD(0, items->cx + item), *running);
  *cy = select((realv)(0), VLOAD(0, items->cy + item), *running);
  *index = select((intv)(0), CONVERT_INDEX(VLOAD(0, items->index + item)), *running);
  *xx = *x * *x;
  *yy = *y * *y;
  *iteration = start;
  *next_item = item + LANES;
  return 1;
}

// A later round: the first `size` items (all at iteration `start`) run up to `limit` in blocks.
// Escaped pixels get their count; survivors are appended to the items again from the first
// (each one after every item read so far, so no item is overwritten before it is read), or get
// max_iter when the limit is max_iter. Returns the survivors.
inline uint later_round(__global uint* counts, Items* items, const uint size, const uint start,
                        const uint limit, const uint max_iter) {
  realv x[SLOTS], y[SLOTS], xx[SLOTS], yy[SLOTS], cx[SLOTS], cy[SLOTS];
  intv index[SLOTS];      // the lanes' pixels (offsets in the chunk)
  intv running[SLOTS];    // lanes whose pixel is not done yet
  intv result[SLOTS];     // the lanes' escape iterations, once found
  uint iteration[SLOTS];  // iterations done by the slot's pixels
  // The state of every slot at the start of each segment of a block, and the lanes each
  // segment's screen flagged (above the screen at its end, or not a number).
  realv saved_x[SEGMENTS][SLOTS], saved_y[SEGMENTS][SLOTS];
  intv flags[SEGMENTS][SLOTS];
  uint next_item = 0;
  uint survivors = 0;
  int live = 0;

#pragma unroll
  for (int g = 0; g < SLOTS; ++g) {
    live += refill(items, size, &next_item, start, &x[g], &y[g], &xx[g], &yy[g], &cx[g], &cy[g],
                   &index[g], &running[g], &result[g], &iteration[g]);
  }
  while (live > 0) {
    uint steps = SEGMENTS * SEGMENT;
#pragma unroll
    for (int g = 0; g < SLOTS; ++g) {
      if (any(running[g])) steps = min(steps, limit - iteration[g]);
    }
    // `steps` steps on every slot in segments of SEGMENT steps, each screened at its end.
    for (int k = 0; k < SEGMENTS; ++k) {
      const uint offset = (uint)k * SEGMENT;
      const uint length = steps > offset ? min((uint)SEGMENT, steps - offset) : 0u;
      if (length == 0) break;
#pragma unroll
      for (int g = 0; g < SLOTS; ++g) {
        saved_x[k][g] = x[g];
        saved_y[k][g] = y[g];
      }
      if (length == SEGMENT) {
#pragma unroll
        for (int s = 0; s < SEGMENT; ++s) {
#pragma unroll
          for (int g = 0; g < SLOTS; ++g) advance(&x[g], &y[g], &xx[g], &yy[g], cx[g], cy[g]);
        }
      } else {
        for (uint s = 0; s < length; ++s) {
#pragma unroll
          for (int g = 0; g < SLOTS; ++g) advance(&x[g], &y[g], &xx[g], &yy[g], cx[g], cy[g]);
        }
      }
#pragma unroll
      for (int g = 0; g < SLOTS; ++g) {
        flags[k][g] = ~(modulus2(x[g], y[g], xx[g], yy[g]) <= SCREEN);
      }
    }
#pragma unroll
    for (int g = 0; g < SLOTS; ++g) {
      if (!any(running[g])) continue;
      const uint block_start = iteration[g];
      iteration[g] += steps;
      intv flagged_any = (intv)(0);
      for (int k = 0; k < SEGMENTS && (uint)k * SEGMENT < steps; ++k) flagged_any |= flags[k][g];
      if (any(running[g] & flagged_any)) {
        // Replay each flagged segment from its start with the test after every step. A lane
        // that escaped in one segment is no longer running when a later one is replayed.
        const intv was_running = running[g];
        for (int k = 0; k < SEGMENTS; ++k) {
          const uint offset = (uint)k * SEGMENT;
          if (offset >= steps) break;
          const uint length = min((uint)SEGMENT, steps - offset);
          intv flagged = running[g] & flags[k][g];
          if (!any(flagged)) continue;
          realv rx = saved_x[k][g];
          realv ry = saved_y[k][g];
          realv rxx = rx * rx;
          realv ryy = ry * ry;
          for (uint s = 0; s < length && any(flagged); ++s) {
            advance(&rx, &ry, &rxx, &ryy, cx[g], cy[g]);
            const intv escaped = flagged & (modulus2(rx, ry, rxx, ryy) > ESCAPE);
            flagged &= ~escaped;
            running[g] &= ~escaped;
            result[g] = select(result[g], (intv)(block_start + offset + s), escaped);
          }
        }
        store_lanes(counts, 0, was_running & ~running[g], index[g], result[g]);
        const intv done = ~running[g];
        x[g] = select(x[g], (realv)(0), done);
        y[g] = select(y[g], (realv)(0), done);
        xx[g] = select(xx[g], (realv)(0), done);
        yy[g] = select(yy[g], (realv)(0), done);
        cx[g] = select(cx[g], (realv)(0), done);
        cy[g] = select(cy[g], (realv)(0), done);
      }
      if (any(running[g]) && iteration[g] == limit) {
        if (limit == max_iter) {
          store_lanes(counts, 0, running[g], index[g], (intv)(max_iter));
        } else {
          append(items, &survivors, running[g], x[g], y[g], cx[g], cy[g], index[g]);
        }
        running[g] = (intv)(0);
      }
      if (!any(running[g])) {
        live += refill(items, size, &next_item, start, &x[g], &y[g], &xx[g], &yy[g], &cx[g], &cy[g],
                       &index[g], &running[g], &result[g], &iteration[g]) -
                1;
      }
    }
  }
  return survivors;
}

// The counts of pixels [begin, end) of an image `width` wide, as hetero::mandelbrot_kernel runs
// them: the runtime launches ceil((end - begin) / HETERO_CHUNK) work-items from offset 0 and
// passes the tile's range first (OpenCLOptions::elements_per_item); work-item i computes pixels
// [begin + i * HETERO_CHUNK, begin + (i + 1) * HETERO_CHUNK) of it. Each array is followed by
// its origin (OpenCLOptions::array_origins: the index of the buffer's first element).
__kernel void mandelbrot_counts_cpu(const long begin, const long end, __global const real* xs,
                                    const long xs_origin, __global const real* ys,
                                    const long ys_origin, __global uint* counts,
                                    const long counts_origin, const long width,
                                    const uint max_iter) {
  const long first = begin + (long)get_global_id(0) * HETERO_CHUNK;
  if (first >= end) return;
  const int pixels = (int)min((long)HETERO_CHUNK, end - first);
  __global uint* chunk_counts = counts + (first - counts_origin);
  Items items;
  uint survivors = 0;
  uint limit = min(max_iter, FIRST_LIMIT);
  const Cursor cursor = {first / width, first % width};
  first_round(xs, xs_origin, ys, ys_origin, chunk_counts, width, cursor, pixels, limit, max_iter,
              &items, &survivors);
  while (survivors > 0) {
    const uint start = limit;
    limit = (uint)min((ulong)max_iter, (ulong)start * LIMIT_GROWTH);
    survivors = later_round(chunk_counts, &items, survivors, start, limit, max_iter);
  }
}

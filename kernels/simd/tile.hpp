// SIMD tile kernel (Google Highway): Mandelbrot tiles on vectors, dispatched at run time to
// the best instruction set of the machine (SSE4, AVX2, AVX-512), with counts bit-identical
// to the scalar kernel for every (precision, mode).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mandelbrot.hpp"

namespace hetero::kernels::simd {

/// Computes pixels [begin, end) (row-major over an image `width` wide) into out[0, end-begin)
/// and returns the iterations the counts stand for (the sum of iterations_of), exactly as
/// scalar::tile<Real, A> does.
template <class Real, Arith A>
std::uint64_t tile(const Real* xs, const Real* ys, std::int64_t width, std::int64_t begin,
                   std::int64_t end, std::uint32_t max_iter, std::uint32_t* out);

/// tile() with exact cycle detection and trapped states: a pixel whose state (x, y) repeats bit
/// for bit after the first round repeats forever and never escapes, so it gets max_iter as soon
/// as the repeat is seen (a compare of the bits with the block's start state after each of a
/// block's first steps, and with a state saved on Brent's power-of-two schedule at the end of
/// every block); so does a pixel whose state, at the first round's end or a block's end, lies in
/// a disk around itself that the step, rounding included, maps into itself (the main cardioid's
/// interior, converging to its fixed point). The counts are tile()'s on every input. Returns the
/// iterations it performed: tile()'s total less, for each pixel settled so, the iterations
/// between the point where that was seen and max_iter.
template <class Real, Arith A>
std::uint64_t tile_cycles(const Real* xs, const Real* ys, std::int64_t width, std::int64_t begin,
                          std::int64_t end, std::uint32_t max_iter, std::uint32_t* out);

/// tile() that first settles the points well inside the main cardioid and the period-2 bulb
/// (their orbits are attracted by a cycle, so their count is max_iter) without iterating them.
/// The test keeps a margin inside both shapes, so it never changes a count. Returns the
/// iterations it performed: tile()'s total less max_iter for each settled pixel.
template <class Real, Arith A>
std::uint64_t tile_shortcuts(const Real* xs, const Real* ys, std::int64_t width, std::int64_t begin,
                             std::int64_t end, std::uint32_t max_iter, std::uint32_t* out);

/// The instruction set tile() dispatches to now, as Highway names it: "AVX3" (AVX-512),
/// "AVX3_DL" (AVX-512 with Ice Lake's extensions), "AVX2", "SSE4", "SSSE3", or "EMU128" and
/// "SCALAR" (portable C++, no vector instructions).
std::string target_name();
/// Highway's name of `target` (one HWY_* bit), e.g. for a test's name.
std::string target_name(std::int64_t target);

/// Bytes per vector of the dispatched instruction set (64 for AVX-512, 32 for AVX2, 16 for
/// SSE4 and the emulated targets).
int vector_bytes();

/// Pixels the dispatched kernel computes per vector instruction for values of `real_bytes`
/// bytes in `mode`: 1 where it runs scalar code (the emulated targets, and fma mode on an
/// instruction set without fused multiply-add, where a separate multiply and add would round
/// differently and the scalar reference runs instead).
int vector_lanes(int real_bytes, Arith mode);

/// Vector arithmetic instructions per iteration in the kernel's inner loop, where the escape
/// test runs once per block of steps: exact: 3 mul + 4 add/sub; fma: 3 fma + 1 add.
constexpr int vector_ops_per_iteration(Arith mode) {
  return mode == Arith::exact ? 7 : 4;
}

/// Highway targets compiled into the kernel that this CPU can run, best first.
std::vector<std::int64_t> runnable_targets();

/// Makes the kernel dispatch to `target` (one of runnable_targets()) from now on, in every
/// thread; 0 restores the best one. For tests (hwy::SetSupportedTargetsForTest).
void force_target(std::int64_t target);

}  // namespace hetero::kernels::simd

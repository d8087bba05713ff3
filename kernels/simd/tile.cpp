// SIMD tile kernel: the per-target code Highway compiles once per instruction set, and the
// run-time dispatch to the best one this CPU supports.
//
// How a tile is computed (all counts bit-identical to scalar::tile, see mandelbrot.hpp):
// - The tile is cut into chunks of kChunkPixels; each chunk runs in rounds with growing
//   iteration limits (32, 128, 512, ... up to max_iter). Every pixel of a round starts at the
//   same iteration, so the lanes of a vector share one iteration counter.
// - The first round takes the chunk's pixels in order, a few vectors at a time, and tests for
//   escape after every step: most pixels of a typical image escape within a few iterations.
// - Later rounds take the survivors of the previous one (their z, c and pixel, compacted) and
//   iterate them in blocks with no test per step: the state is saved and |z|^2 screened only
//   every kSegmentSteps steps (see kScreen for why that misses no escape). A vector with a lane
//   above the screen replays that segment from the saved state with the exact per-step test,
//   which finds the lane's escape iteration. A lane that is done is zeroed (z = c = 0 stays 0
//   and never escapes), and a vector whose lanes are all done is refilled with the next
//   survivors.
// - Several independent vectors ("slots") are in flight so that the dependency chain of one
//   step (a multiply and two adds) is covered by the others' work.
// - tile_cycles adds exact cycle detection to the later rounds (see kCheckedSegments): a lane
//   whose state (x, y) repeats bit for bit repeats forever, never escapes, and is finished with
//   max_iter as soon as the repeat is seen.
// Fused multiply-add mode needs a fused vector instruction: the targets without one (SSE4,
// SSSE3 and the emulated EMU128 or SCALAR) run the scalar reference in that mode.
#include "simd/tile.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/tile.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come before highway.h.
#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include "scalar/tile.hpp"

HWY_BEFORE_NAMESPACE();
namespace hetero::kernels::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Vectors in flight per worker in later rounds: enough independent work to cover the latency
// of one step's dependency chain (exact: sub, add, mul, about 12 cycles; fma: two fmas) within
// the register file (32 vector registers with AVX-512, 16 otherwise). A vector holds 6
// registers in exact mode (x, y, x*x, y*y, cx, cy) and 4 in fma mode.
template <Arith A>
constexpr int SlotsFor() {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return A == Arith::exact ? 4 : 6;
#else
  return A == Arith::exact ? 2 : 3;
#endif
}
constexpr int kFirstSlots = SlotsFor<Arith::exact>();  // vectors in flight in the first round

// Steps between two screens in later rounds, and the |z|^2 above which a vector replays them.
//
// Why a segment needs no escape test per step: a lane whose orbit escaped at some step of the
// segment still has |z|^2 > kScreen at its end (or an overflow: infinity or NaN). In exact
// arithmetic, once |z| > 2 and |c| <= 2, |z'| >= |z|^2 - |c| > |z|: |z| only grows (and a lane
// with |c| > 2 escaped at iteration 0 and grows from there on). In floating point, with unit
// roundoff u, a lane that just escaped has |z| >= 2 - 2u; every lane still iterating has
// |c| <= 2 + 3u, and one computed step is off by at most about 3u (|z|^2 + |c|). So the
// shortfall d = 2 - |z| obeys d' <= 4d + 21u, and s steps after the escape
// |z| >= 2 - 10u * 4^s. With s <= 7 in fp32 (u = 2^-24) that keeps |z|^2 above 3.96, and with
// s <= 15 in fp64 (u = 2^-53) above 3.99999, both far above kScreen = 3. A lane whose orbit is
// merely large (bounded, not escaped) is replayed for nothing and carries on.
template <class Real>
constexpr std::uint32_t kSegmentSteps = sizeof(Real) == 8 ? 16 : 8;
constexpr double kScreen = 3.0;
// Segments per block: the state is saved and screened after each segment, but the slots are
// only examined, replayed and refilled once per block (fewer pauses in the stream of vector
// instructions, at the price of refilling a finished slot a little later).
constexpr int kSegmentsPerBlock = 4;

// Cycle detection (tile_cycles). The step is a fixed function of (x, y) and the lane's c, so a
// lane whose state at iteration n has the same bits as at an earlier iteration m repeats the
// states m+1..n forever; if none of them escaped (the lane is still running at the end of the
// block that holds n), none ever will, and the count is max_iter: the plain loop's count,
// reached without its remaining iterations. Two comparisons find the repeats:
// - In the first kCheckedSegments segments of every block the state after each step is compared
//   with the block's start state: a lane already on a cycle of period up to that many steps is
//   caught in the first block that starts on the cycle. Almost all the cycles of the seed's
//   interior (the main cardioid, the bulbs and their floating-point jitter) have periods up to
//   16 steps.
// - At the end of every block the state is compared with one saved at the ends of the blocks
//   1, 2, 4, 8, ... of the slot's pixels in the round (Brent's schedule of powers of two, in
//   blocks; the first saved state is the round's start): a longer period p is caught once a
//   saved state lies on the cycle and the saved-to-current span reaches p / gcd(p, block steps)
//   blocks. The spans double within a round, and the rounds grow fourfold, so with a large
//   max_iter every period is caught in the end; with the seed's 1000, rounds of 6 and 8 blocks
//   catch few periods above 16.
// The comparison is of bits (the integers of the same bits), which is stronger than the
// values' equality: -0.0 and 0.0 do not match and a NaN matches its own bits. Equal bits are
// equal operands of the same instructions, so every later state and escape test is the same.
// (Equal values would do as well: a sum, product or fused multiply-add's value depends only on
// its operands' values, the sign of a zero aside, and the escape test only on values; a NaN
// never equals itself, so it is the bits that also settle a NaN lane, whose count is max_iter.)
template <class Real>
constexpr int kCheckedSegments = sizeof(Real) == 8 ? 1 : 2;

// Trapped orbits (tile_cycles, beside the cycles). With f(z) = z^2 + c, a lane whose state a
// (|a| < 1/2) moves little in one step, delta = f(a) - a small, lies in a disk D(a, r) that
// every later state stays in, so it never escapes and its count is max_iter. Proof: for
// z = a + w in D, f(z) - a = delta + w (2a + w), so |f(z) - a| <= |delta| + r (2|a| + r). Take
// r = k (1 - 2|a|) / 2 with k = 0.99: 2|a| = 1 - 2r/k, and the bound is
// |delta| + r - r^2 (2/k - 1) <= |delta| + r - 1.02 r^2. A computed step adds an error eps of
// at most 3u for |z| <= 1/2 and |c| <= 1 (u the unit roundoff; fma mode rounds less), so the
// next state is in D when |delta| + eps <= 1.02 r^2: the test asks r^2 >= 2 |delta'| + 64u,
// where delta' is delta as computed (within 8u of it). In D, |z| <= |a| + r < 1/2, so |z|^2
// never nears 4, and |c| = |delta + a - a^2| <= 1. The factor k also covers the rounding of
// |a| and r. The states of the main cardioid's interior converge to its attracting fixed point
// and pass this test long before their bits repeat: where the fixed point's multiplier is 0.9,
// after 46 steps instead of 339.
template <class D, class V = hn::Vec<D>>
HWY_INLINE hn::Mask<D> Trapped(D d, V x, V y, V cx, V cy) {
  using Real = hn::TFromD<D>;
  constexpr Real kUnitRoundoff = std::numeric_limits<Real>::epsilon() / 2;
  const V delta_x = hn::Sub(hn::Add(hn::Sub(hn::Mul(x, x), hn::Mul(y, y)), cx), x);
  const V delta_y = hn::Sub(hn::Add(hn::Mul(hn::Add(x, x), y), cy), y);
  const V delta = hn::Sqrt(hn::Add(hn::Mul(delta_x, delta_x), hn::Mul(delta_y, delta_y)));
  const V margin =
      hn::Sub(hn::Set(d, Real(1)), hn::Add(hn::Sqrt(hn::Add(hn::Mul(x, x), hn::Mul(y, y))),
                                           hn::Sqrt(hn::Add(hn::Mul(x, x), hn::Mul(y, y)))));
  const V r = hn::Mul(hn::Set(d, Real(0.495)), margin);
  const V needed = hn::MulAdd(hn::Set(d, Real(2)), delta, hn::Set(d, 64 * kUnitRoundoff));
  return hn::And(hn::Gt(margin, hn::Zero(d)), hn::Ge(hn::Mul(r, r), needed));
}

constexpr std::uint32_t kFirstLimit = 32;     // iteration limit of the first round
constexpr std::uint32_t kLimitGrowth = 4;     // each later round's limit is 4 times the last
constexpr std::int64_t kChunkPixels = 16384;  // pixel offsets in a chunk are exact in fp32

// One step of the recurrence on every lane, exactly as kernels/mandelbrot.hpp's step().
// In exact mode xx = x*x and yy = y*y carry over from one step to the next (the scalar step
// computes the same products for its escape test and again for the update); (x + x) is
// bit-identical to 2*x. In fma mode NegMulAdd(y, y, cx) rounds cx - y*y once, as
// fma(-y, y, cx) does.
template <Arith A, class V>
HWY_INLINE void Advance(V& x, V& y, V& xx, V& yy, const V cx, const V cy) {
  if constexpr (A == Arith::exact) {
    const V xn = hn::Add(hn::Sub(xx, yy), cx);
    const V yn = hn::Add(hn::Mul(hn::Add(x, x), y), cy);
    x = xn;
    y = yn;
    xx = hn::Mul(xn, xn);
    yy = hn::Mul(yn, yn);
  } else {
    const V xn = hn::MulAdd(x, x, hn::NegMulAdd(y, y, cx));
    y = hn::MulAdd(hn::Add(x, x), y, cy);
    x = xn;
  }
}

// |z|^2 as the contract's escape test computes it.
template <Arith A, class V>
HWY_INLINE V Modulus2(V x, V y, V xx, V yy) {
  if constexpr (A == Arith::exact) {
    return hn::Add(xx, yy);
  } else {
    return hn::MulAdd(x, x, hn::Mul(y, y));
  }
}

// One step followed by the escape test's |z'|^2.
template <Arith A, class V>
HWY_INLINE V Step(V& x, V& y, V& xx, V& yy, const V cx, const V cy) {
  Advance<A>(x, y, xx, yy, cx, cy);
  return Modulus2<A>(x, y, xx, yy);
}

// Lane l of a mask as bit l.
template <class D>
HWY_INLINE std::uint64_t BitsOf(D d, hn::Mask<D> mask) {
  std::uint8_t bytes[8] = {};
  hn::StoreMaskBits(d, mask, bytes);
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= std::uint64_t{bytes[i]} << (8 * i);
  return bits;
}

template <class D>
HWY_INLINE hn::Mask<D> MaskOf(D d, std::uint64_t bits) {
  std::uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(bits >> (8 * i));
  return hn::LoadMaskBits(d, bytes);
}

// Lanes where !(modulus2 <= screen): above the screen, or NaN (which only follows an overflow,
// that is an escape). AVX-512 has this as one compare with an unordered predicate; elsewhere
// it is a compare and a negation.
template <class D>
HWY_INLINE hn::Mask<D> AboveScreen(D d, hn::Vec<D> modulus2, hn::Vec<D> screen) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  (void)d;
  if constexpr (sizeof(hn::TFromD<D>) == 8) {
    return hn::Mask<D>{_mm512_cmp_pd_mask(modulus2.raw, screen.raw, _CMP_NLE_UQ)};
  } else {
    return hn::Mask<D>{_mm512_cmp_ps_mask(modulus2.raw, screen.raw, _CMP_NLE_UQ)};
  }
#else
  (void)d;
  return hn::Not(hn::Le(modulus2, screen));
#endif
}

// Lanes whose state (x, y) has the bits of (sx, sy).
template <class D, class V = hn::Vec<D>>
HWY_INLINE hn::Mask<D> SameBits(D d, V x, V y, V sx, V sy) {
  const hn::RebindToUnsigned<D> du;
  const auto same_x = hn::Eq(hn::BitCast(du, x), hn::BitCast(du, sx));
  const auto same_y = hn::Eq(hn::BitCast(du, y), hn::BitCast(du, sy));
  return hn::RebindMask(d, hn::And(same_x, same_y));
}

// The state of every slot at the start of each segment of a block, and the lanes each
// segment's screen flagged (lane l of flags[k][g]: lane l of slot g was above the screen at the
// end of segment k, or not a number).
template <class Real, int kSlots, int kSegments>
struct BlockRecord {
  using Mask = hn::Mask<hn::ScalableTag<Real>>;
  static constexpr std::size_t kLanes = HWY_MAX_BYTES / sizeof(Real);
  HWY_ALIGN Real x0[kSegments][kSlots][kLanes];
  HWY_ALIGN Real y0[kSegments][kSlots][kLanes];
  Mask flags[kSegments][kSlots];
};

// One segment: `steps` steps on every slot, interleaved, after saving the state to `record`.
// kFull: steps is the full segment length, so the loop is unrolled and the compiler
// schedules the steps of all slots together. kCheck: after each step, the lanes whose state
// has the bits of (sx, sy) are added to `repeat`.
template <Arith A, int kSlots, int kSegments, std::uint32_t kSegment, bool kFull, bool kCheck,
          class D, class V = hn::Vec<D>, class M = hn::Mask<D>>
HWY_INLINE void AdvanceSegment(D d, int k, std::uint32_t steps, V (&x)[kSlots], V (&y)[kSlots],
                               V (&xx)[kSlots], V (&yy)[kSlots], const V (&cx)[kSlots],
                               const V (&cy)[kSlots], V screen,
                               BlockRecord<hn::TFromD<D>, kSlots, kSegments>& record,
                               const V (&sx)[kSlots], const V (&sy)[kSlots], M (&repeat)[kSlots]) {
  for (int g = 0; g < kSlots; ++g) {
    hn::Store(x[g], d, record.x0[k][g]);
    hn::Store(y[g], d, record.y0[k][g]);
  }
  const auto one_step = [&]() HWY_ATTR {
    for (int g = 0; g < kSlots; ++g) {
      Advance<A>(x[g], y[g], xx[g], yy[g], cx[g], cy[g]);
      if constexpr (kCheck) repeat[g] = hn::Or(repeat[g], SameBits(d, x[g], y[g], sx[g], sy[g]));
    }
  };
  if constexpr (kFull) {
#pragma GCC unroll 16
    for (std::uint32_t s = 0; s < kSegment; ++s) one_step();
  } else {
    for (std::uint32_t s = 0; s < steps; ++s) one_step();
  }
  for (int g = 0; g < kSlots; ++g) {
    record.flags[k][g] = AboveScreen(d, Modulus2<A>(x[g], y[g], xx[g], yy[g]), screen);
  }
}

// `steps` steps on every slot in segments of at most kSegment steps, each screened at its end
// (see kScreen). The state is copied into local arrays that nothing else refers to, so the
// compiler keeps it in registers for the whole block. kCycles: repeat[g] gets the lanes whose
// state after one of the steps of the first kChecked segments had the bits of the block's start
// state.
template <Arith A, bool kCycles, int kSlots, int kSegments, std::uint32_t kSegment, int kChecked,
          class D, class V = hn::Vec<D>, class M = hn::Mask<D>>
HWY_INLINE void AdvanceBlock(D d, std::uint32_t steps, V (&x)[kSlots], V (&y)[kSlots],
                             V (&xx)[kSlots], V (&yy)[kSlots], const V (&cx)[kSlots],
                             const V (&cy)[kSlots],
                             BlockRecord<hn::TFromD<D>, kSlots, kSegments>& record,
                             M (&repeat)[kSlots]) {
  using Real = hn::TFromD<D>;
  const V screen = hn::Set(d, static_cast<Real>(kScreen));
  V bx[kSlots], by[kSlots], bxx[kSlots], byy[kSlots], bcx[kSlots], bcy[kSlots];
  V sx[kSlots], sy[kSlots];
  M brepeat[kSlots];
  for (int g = 0; g < kSlots; ++g) {
    bx[g] = x[g];
    by[g] = y[g];
    bxx[g] = xx[g];
    byy[g] = yy[g];
    bcx[g] = cx[g];
    bcy[g] = cy[g];
    sx[g] = x[g];
    sy[g] = y[g];
    brepeat[g] = hn::MaskFromVec(hn::Zero(d));
  }
  // Exact mode gains from unrolled full blocks; fma mode's short steps do not need it.
  if (A == Arith::exact && steps == kSegments * kSegment) {
    for (int k = 0; k < kSegments; ++k) {
      if (kCycles && k < kChecked) {
        AdvanceSegment<A, kSlots, kSegments, kSegment, true, kCycles>(
            d, k, kSegment, bx, by, bxx, byy, bcx, bcy, screen, record, sx, sy, brepeat);
      } else {
        AdvanceSegment<A, kSlots, kSegments, kSegment, true, false>(
            d, k, kSegment, bx, by, bxx, byy, bcx, bcy, screen, record, sx, sy, brepeat);
      }
    }
  } else {
    for (int k = 0; k < kSegments; ++k) {
      const std::uint32_t offset = static_cast<std::uint32_t>(k) * kSegment;
      const std::uint32_t length = steps > offset ? std::min(kSegment, steps - offset) : 0;
      if (kCycles && k < kChecked) {
        AdvanceSegment<A, kSlots, kSegments, kSegment, false, kCycles>(
            d, k, length, bx, by, bxx, byy, bcx, bcy, screen, record, sx, sy, brepeat);
      } else {
        AdvanceSegment<A, kSlots, kSegments, kSegment, false, false>(
            d, k, length, bx, by, bxx, byy, bcx, bcy, screen, record, sx, sy, brepeat);
      }
    }
  }
  for (int g = 0; g < kSlots; ++g) repeat[g] = brepeat[g];
  for (int g = 0; g < kSlots; ++g) {
    x[g] = bx[g];
    y[g] = by[g];
    xx[g] = bxx[g];
    yy[g] = byy[g];
  }
}

// Pixels carried from one round to the next, as a structure of arrays. `index` is the pixel's
// offset in its chunk (exact in Real). Arrays hold kChunkPixels plus one vector of slack, and
// the lanes past `size` up to the next whole vector are zero (a neutral point).
template <class Real>
struct Items {
  Real* x = nullptr;
  Real* y = nullptr;
  Real* cx = nullptr;
  Real* cy = nullptr;
  Real* index = nullptr;
  std::size_t size = 0;
};

template <class Real>
class Scratch {
 public:
  static constexpr std::size_t kCapacity = kChunkPixels + 2 * HWY_MAX_BYTES / sizeof(Real);

  Scratch() : storage_(hwy::AllocateAligned<Real>(10 * kCapacity)) {
    Real* next = storage_.get();
    for (Items<Real>* items : {&items_[0], &items_[1]}) {
      for (Real** array : {&items->x, &items->y, &items->cx, &items->cy, &items->index}) {
        *array = next;
        next += kCapacity;
      }
    }
  }
  Items<Real>& items(int which) { return items_[which]; }

 private:
  hwy::AlignedFreeUniquePtr<Real[]> storage_;
  Items<Real> items_[2];
};

// Zero lanes [size, whole vectors) so full-vector loads of the last vector read neutral points.
template <class Real>
void PadItems(Items<Real>& items, std::size_t lanes) {
  const std::size_t padded = (items.size + lanes - 1) / lanes * lanes;
  for (std::size_t i = items.size; i < padded; ++i) {
    items.x[i] = items.y[i] = items.cx[i] = items.cy[i] = items.index[i] = Real(0);
  }
}

// Stores the counts of `valid` lanes (small non-negative integers held in Real) to out.
template <class D>
HWY_INLINE void StoreCounts(D d, hn::Vec<D> counts, std::size_t valid, std::uint32_t* out) {
  using Real = hn::TFromD<D>;
  const std::size_t lanes = hn::Lanes(d);
  if (valid == lanes) {
    if constexpr (sizeof(Real) == 4) {
      const hn::RebindToSigned<D> di;
      hn::StoreU(hn::ConvertTo(di, counts), di, reinterpret_cast<std::int32_t*>(out));
    } else {
      const hn::Rebind<std::int32_t, D> di;
      hn::StoreU(hn::DemoteTo(di, counts), di, reinterpret_cast<std::int32_t*>(out));
    }
    return;
  }
  HWY_ALIGN Real lane_counts[HWY_MAX_BYTES / sizeof(Real)] = {};
  hn::Store(counts, d, lane_counts);
  for (std::size_t l = 0; l < valid; ++l) out[l] = static_cast<std::uint32_t>(lane_counts[l]);
}

// Position of a pixel of a row-major image, advanced without division.
struct PixelCursor {
  std::int64_t row = 0;
  std::int64_t col = 0;
  std::int64_t width = 1;

  void advance(std::int64_t pixels) {
    col += pixels;
    if (col >= width) {
      row += col / width;
      col %= width;
    }
  }
};

// c of `valid` consecutive pixels from `at`; lanes past `valid` get c = 0.
template <class D>
HWY_INLINE void LoadPoints(D d, const hn::TFromD<D>* xs, const hn::TFromD<D>* ys, PixelCursor at,
                           std::size_t valid, hn::Vec<D>& cx, hn::Vec<D>& cy) {
  using Real = hn::TFromD<D>;
  const std::size_t lanes = hn::Lanes(d);
  if (valid == lanes && at.col + static_cast<std::int64_t>(lanes) <= at.width) {
    cx = hn::LoadU(d, xs + at.col);
    cy = hn::Set(d, ys[at.row]);
    return;
  }
  HWY_ALIGN Real bx[HWY_MAX_BYTES / sizeof(Real)] = {};
  HWY_ALIGN Real by[HWY_MAX_BYTES / sizeof(Real)] = {};
  for (std::size_t l = 0; l < valid; ++l) {
    bx[l] = xs[at.col];
    by[l] = ys[at.row];
    at.advance(1);
  }
  cx = hn::Load(d, bx);
  cy = hn::Load(d, by);
}

// Lanes whose c lies well inside the main cardioid or the period-2 bulb: their orbit is
// attracted by a cycle and stays bounded, so their count is max_iter. The margin keeps the
// cycle's multiplier below 0.9 in modulus, far from the boundary where rounding could matter:
// cardioid: lambda = 1 - sqrt(1 - 4c); bulb: lambda = 4(c + 1).
template <class D>
HWY_INLINE hn::Mask<D> InsideShapes(D d, hn::Vec<D> cx, hn::Vec<D> cy) {
  using V = hn::Vec<D>;
  using Real = hn::TFromD<D>;
  const V one = hn::Set(d, Real(1));
  const V half = hn::Set(d, Real(0.5));
  const V rho2 = hn::Set(d, Real(0.81));
  // w = 1 - 4c; s = sqrt(w) (principal branch); lambda = 1 - s.
  const V wr = hn::Sub(one, hn::Mul(hn::Set(d, Real(4)), cx));
  const V wi = hn::Mul(hn::Set(d, Real(-4)), cy);
  const V modulus = hn::Sqrt(hn::Add(hn::Mul(wr, wr), hn::Mul(wi, wi)));
  const V sr = hn::Sqrt(hn::Mul(half, hn::Add(modulus, wr)));
  const V si_abs = hn::Sqrt(hn::Max(hn::Zero(d), hn::Mul(half, hn::Sub(modulus, wr))));
  const V lr = hn::Sub(one, sr);
  const V cardioid = hn::Add(hn::Mul(lr, lr), hn::Mul(si_abs, si_abs));
  const V bx = hn::Mul(hn::Set(d, Real(4)), hn::Add(cx, one));
  const V by = hn::Mul(hn::Set(d, Real(4)), cy);
  const V bulb = hn::Add(hn::Mul(bx, bx), hn::Mul(by, by));
  return hn::Or(hn::Lt(cardioid, rho2), hn::Lt(bulb, rho2));
}

// Appends the lanes of `keep` to `items`.
template <class D>
HWY_INLINE void Append(D d, hn::Mask<D> keep, hn::Vec<D> x, hn::Vec<D> y, hn::Vec<D> cx,
                       hn::Vec<D> cy, hn::Vec<D> index, Items<hn::TFromD<D>>& items) {
  hn::CompressStore(x, keep, d, items.x + items.size);
  hn::CompressStore(y, keep, d, items.y + items.size);
  hn::CompressStore(cx, keep, d, items.cx + items.size);
  hn::CompressStore(cy, keep, d, items.cy + items.size);
  items.size += hn::CompressStore(index, keep, d, items.index + items.size);
}

// Up to `limit` steps on every slot with the escape test after each: a lane stays active until
// it escapes, and count[g] is the number of steps a lane was active after (its escape
// iteration, or `limit`). Stops early once no lane is active. Local copies keep the state in
// registers.
template <Arith A, int kSlots, class D, class V = hn::Vec<D>, class M = hn::Mask<D>>
HWY_INLINE void IterateTested(D d, std::uint32_t limit, V (&x)[kSlots], V (&y)[kSlots],
                              V (&xx)[kSlots], V (&yy)[kSlots], const V (&cx)[kSlots],
                              const V (&cy)[kSlots], V (&count)[kSlots], M (&active)[kSlots]) {
  using Real = hn::TFromD<D>;
  const V four = hn::Set(d, Real(4));
  const V one = hn::Set(d, Real(1));
  V bx[kSlots], by[kSlots], bxx[kSlots], byy[kSlots], bcx[kSlots], bcy[kSlots], bcount[kSlots];
  M bactive[kSlots];
  for (int g = 0; g < kSlots; ++g) {
    bx[g] = x[g];
    by[g] = y[g];
    bxx[g] = xx[g];
    byy[g] = yy[g];
    bcx[g] = cx[g];
    bcy[g] = cy[g];
    bcount[g] = count[g];
    bactive[g] = active[g];
  }
  for (std::uint32_t step = 0; step < limit; ++step) {
    M any = bactive[0];
    for (int g = 0; g < kSlots; ++g) {
      const V r = Step<A>(bx[g], by[g], bxx[g], byy[g], bcx[g], bcy[g]);
      // Keep a lane while !(r > 4), as the scalar test escapes on r > 4: a NaN never escapes.
      bactive[g] = hn::AndNot(hn::Gt(r, four), bactive[g]);
      bcount[g] = hn::IfThenElse(bactive[g], hn::Add(bcount[g], one), bcount[g]);
      if (g > 0) any = hn::Or(any, bactive[g]);
    }
    if (hn::AllFalse(d, any)) break;
  }
  for (int g = 0; g < kSlots; ++g) {
    x[g] = bx[g];
    y[g] = by[g];
    count[g] = bcount[g];
    active[g] = bactive[g];
  }
}

// Round 1: pixels [first, last) of the image in order (chunk offsets from `first`), kFirstSlots
// vectors at a time, escape test after every step, up to `limit` iterations. Writes every pixel's
// count (the limit for those still running) and appends the survivors to `survivors` unless the
// limit is max_iter. kTraps: a survivor whose state is trapped (see Trapped) gets max_iter
// instead, and `skipped` grows by the iterations it did not perform.
template <class D, Arith A, bool kShortcuts, bool kTraps>
void FirstRound(D d, const hn::TFromD<D>* xs, const hn::TFromD<D>* ys, PixelCursor cursor,
                std::int64_t pixels, std::uint32_t limit, std::uint32_t max_iter,
                std::uint32_t* out, Items<hn::TFromD<D>>* survivors, std::uint64_t& settled,
                std::uint64_t& skipped) {
  using Real = hn::TFromD<D>;
  using V = hn::Vec<D>;
  using M = hn::Mask<D>;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  for (std::int64_t base = 0; base < pixels; base += kFirstSlots * lanes) {
    V x[kFirstSlots], y[kFirstSlots], xx[kFirstSlots], yy[kFirstSlots], cx[kFirstSlots],
        cy[kFirstSlots], count[kFirstSlots];
    M active[kFirstSlots];
    std::uint64_t inside[kFirstSlots] = {};
    std::size_t valid[kFirstSlots];
    for (int g = 0; g < kFirstSlots; ++g) {
      const std::int64_t first = base + g * lanes;
      valid[g] = static_cast<std::size_t>(std::clamp<std::int64_t>(pixels - first, 0, lanes));
      LoadPoints(d, xs, ys, cursor, valid[g], cx[g], cy[g]);
      cursor.advance(static_cast<std::int64_t>(valid[g]));
      active[g] = hn::FirstN(d, valid[g]);
      if constexpr (kShortcuts) {
        const M shortcut = hn::And(active[g], InsideShapes(d, cx[g], cy[g]));
        inside[g] = BitsOf(d, shortcut);
        active[g] = hn::AndNot(shortcut, active[g]);
      }
      x[g] = y[g] = xx[g] = yy[g] = count[g] = hn::Zero(d);
    }
    IterateTested<A, kFirstSlots>(d, limit, x, y, xx, yy, cx, cy, count, active);
    for (int g = 0; g < kFirstSlots; ++g) {
      if (valid[g] == 0) break;
      const std::int64_t first = base + g * lanes;
      StoreCounts(d, count[g], valid[g], out + first);
      for (std::uint64_t bits = inside[g]; bits != 0; bits &= bits - 1) {
        out[first + hwy::Num0BitsBelowLS1Bit_Nonzero64(bits)] = max_iter;
        ++settled;
      }
      if (limit == max_iter || hn::AllFalse(d, active[g])) continue;
      if constexpr (kTraps) {
        const M trapped = hn::And(active[g], Trapped(d, x[g], y[g], cx[g], cy[g]));
        for (std::uint64_t bits = BitsOf(d, trapped); bits != 0; bits &= bits - 1) {
          out[first + hwy::Num0BitsBelowLS1Bit_Nonzero64(bits)] = max_iter;
          skipped += max_iter - limit;
        }
        active[g] = hn::AndNot(trapped, active[g]);
      }
      // Survivors ran `limit` steps without escaping; they carry their state to the next round.
      Append(d, active[g], x[g], y[g], cx[g], cy[g], hn::Iota(d, static_cast<Real>(first)),
             *survivors);
    }
  }
}

// A later round: `items` (all at iteration `start`) run up to `limit` in blocks. Escaped
// pixels get their count in out; survivors go to `next`, or get max_iter when the limit is
// max_iter (next is then null). kCycles: pixels whose state repeats get max_iter at the end of
// the block that shows it (see kCheckedSegments), and `skipped` grows by the iterations their
// counts stand for that they did not perform.
template <class D, Arith A, bool kCycles>
void LaterRound(D d, const Items<hn::TFromD<D>>& items, std::uint32_t start, std::uint32_t limit,
                std::uint32_t max_iter, std::uint32_t* out, Items<hn::TFromD<D>>* next,
                std::uint64_t& skipped) {
  using Real = hn::TFromD<D>;
  using V = hn::Vec<D>;
  using M = hn::Mask<D>;
  const std::size_t lanes = hn::Lanes(d);
  const V four = hn::Set(d, Real(4));

  constexpr int kSlots = SlotsFor<A>();
  constexpr std::uint32_t kSegment = kSegmentSteps<Real>;
  constexpr std::uint32_t kBlock = kSegmentsPerBlock * kSegment;
  V x[kSlots], y[kSlots], xx[kSlots], yy[kSlots], cx[kSlots], cy[kSlots];
  std::uint32_t iteration[kSlots];  // iterations done by the slot's pixels
  std::uint64_t running[kSlots];    // lanes whose pixel is not done yet
  std::size_t item[kSlots];         // the slot's first item
  std::size_t next_item = 0;
  int live = 0;
  // Cycle detection: the state saved at the end of the slot's blocks 1, 2, 4, 8, ... (at its
  // refill first), and the blocks the slot's pixels have run.
  constexpr std::size_t kMaxLanes = HWY_MAX_BYTES / sizeof(Real);
  HWY_ALIGN Real saved_x[kSlots][kMaxLanes];
  HWY_ALIGN Real saved_y[kSlots][kMaxLanes];
  std::uint32_t blocks[kSlots];
  M repeat[kSlots];

  // Fills slot g with the next vector of items, or leaves it idle (all zero) if none is left.
  auto refill = [&](int g) HWY_ATTR {
    if (next_item >= items.size) {
      x[g] = y[g] = xx[g] = yy[g] = cx[g] = cy[g] = hn::Zero(d);
      running[g] = 0;
      return;
    }
    item[g] = next_item;
    next_item += lanes;
    x[g] = hn::Load(d, items.x + item[g]);
    y[g] = hn::Load(d, items.y + item[g]);
    cx[g] = hn::Load(d, items.cx + item[g]);
    cy[g] = hn::Load(d, items.cy + item[g]);
    xx[g] = hn::Mul(x[g], x[g]);
    yy[g] = hn::Mul(y[g], y[g]);
    iteration[g] = start;
    if constexpr (kCycles) {
      hn::Store(x[g], d, saved_x[g]);
      hn::Store(y[g], d, saved_y[g]);
      blocks[g] = 0;
    }
    const std::size_t valid = std::min(lanes, items.size - item[g]);
    running[g] = valid >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << valid) - 1;
    ++live;
  };
  auto pixel_of = [&](int g, std::uint64_t lane)
                      HWY_ATTR { return static_cast<std::size_t>(items.index[item[g] + lane]); };
  // Zeroes the lanes of slot g that are done (z = c = 0 stays 0 and never escapes).
  auto clear = [&](int g, M done) HWY_ATTR {
    x[g] = hn::IfThenZeroElse(done, x[g]);
    y[g] = hn::IfThenZeroElse(done, y[g]);
    xx[g] = hn::IfThenZeroElse(done, xx[g]);
    yy[g] = hn::IfThenZeroElse(done, yy[g]);
    cx[g] = hn::IfThenZeroElse(done, cx[g]);
    cy[g] = hn::IfThenZeroElse(done, cy[g]);
  };

  for (int g = 0; g < kSlots; ++g) refill(g);
  BlockRecord<Real, kSlots, kSegmentsPerBlock> record;
  while (live > 0) {
    std::uint32_t steps = kBlock;
    for (int g = 0; g < kSlots; ++g) {
      if (running[g] != 0) steps = std::min(steps, limit - iteration[g]);
    }
    AdvanceBlock<A, kCycles, kSlots, kSegmentsPerBlock, kSegment, kCheckedSegments<Real>>(
        d, steps, x, y, xx, yy, cx, cy, record, repeat);
    for (int g = 0; g < kSlots; ++g) {
      if (running[g] == 0) continue;
      const std::uint32_t block_start = iteration[g];
      iteration[g] += steps;
      std::uint64_t any_flagged = 0;
      for (int k = 0; k < kSegmentsPerBlock; ++k) any_flagged |= BitsOf(d, record.flags[k][g]);
      if ((running[g] & any_flagged) != 0) {
        // Replay each flagged segment from its start with the test after every step. A lane
        // that escaped in one segment is no longer running when a later one is replayed.
        for (int k = 0; k < kSegmentsPerBlock; ++k) {
          const std::uint32_t offset = static_cast<std::uint32_t>(k) * kSegment;
          if (offset >= steps) break;
          const std::uint32_t length = std::min(kSegment, steps - offset);
          std::uint64_t flagged = running[g] & BitsOf(d, record.flags[k][g]);
          if (flagged == 0) continue;
          V rx = hn::Load(d, record.x0[k][g]);
          V ry = hn::Load(d, record.y0[k][g]);
          V rxx = hn::Mul(rx, rx);
          V ryy = hn::Mul(ry, ry);
          for (std::uint32_t s = 0; s < length && flagged != 0; ++s) {
            const V r = Step<A>(rx, ry, rxx, ryy, cx[g], cy[g]);
            std::uint64_t escaped = flagged & BitsOf(d, hn::Gt(r, four));
            flagged &= ~escaped;
            running[g] &= ~escaped;
            for (; escaped != 0; escaped &= escaped - 1) {
              out[pixel_of(g, hwy::Num0BitsBelowLS1Bit_Nonzero64(escaped))] =
                  block_start + offset + s;
            }
          }
        }
        clear(g, hn::Not(MaskOf(d, running[g])));
      }
      if constexpr (kCycles) {
        if (running[g] != 0) {
          // The lanes still running did not escape up to the block's end, past every state the
          // comparisons below match: those that matched are on a cycle that never escapes.
          const M same = SameBits(d, x[g], y[g], hn::Load(d, saved_x[g]), hn::Load(d, saved_y[g]));
          const M trapped = Trapped(d, x[g], y[g], cx[g], cy[g]);
          const std::uint64_t cycled =
              running[g] & (BitsOf(d, repeat[g]) | BitsOf(d, same) | BitsOf(d, trapped));
          if (cycled != 0) {
            running[g] &= ~cycled;
            for (std::uint64_t bits = cycled; bits != 0; bits &= bits - 1) {
              out[pixel_of(g, hwy::Num0BitsBelowLS1Bit_Nonzero64(bits))] = max_iter;
              skipped += max_iter - iteration[g];
            }
            clear(g, MaskOf(d, cycled));
          }
          ++blocks[g];
          if ((blocks[g] & (blocks[g] - 1)) == 0) {
            hn::Store(x[g], d, saved_x[g]);
            hn::Store(y[g], d, saved_y[g]);
          }
        }
      }
      if (running[g] != 0 && iteration[g] == limit) {
        if (next == nullptr) {
          for (std::uint64_t bits = running[g]; bits != 0; bits &= bits - 1) {
            out[pixel_of(g, hwy::Num0BitsBelowLS1Bit_Nonzero64(bits))] = max_iter;
          }
        } else {
          Append(d, MaskOf(d, running[g]), x[g], y[g], cx[g], cy[g],
                 hn::Load(d, items.index + item[g]), *next);
        }
        running[g] = 0;
      }
      if (running[g] == 0) {
        --live;
        refill(g);
      }
    }
  }
}

// Each worker thread's round buffers, reused from tile to tile.
template <class Real>
Scratch<Real>& ThreadScratch() {
  static thread_local Scratch<Real> scratch;
  return scratch;
}

template <class Real, Arith A, bool kShortcuts, bool kCycles>
std::uint64_t Tile(const Real* xs, const Real* ys, std::int64_t width, std::int64_t begin,
                   std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
#if !HWY_NATIVE_FMA
  if constexpr (A == Arith::fma) {
    return scalar::tile<Real, A>(xs, ys, width, begin, end, max_iter, out);
  }
#endif
  const hn::ScalableTag<Real> d;
  Scratch<Real>& scratch = ThreadScratch<Real>();
  std::uint64_t settled = 0;  // pixels the shortcuts gave max_iter without iterating them
  std::uint64_t skipped = 0;  // iterations cycle detection did not perform
  for (std::int64_t first = begin; first < end; first += kChunkPixels) {
    const std::int64_t pixels = std::min(kChunkPixels, end - first);
    std::uint32_t* chunk_out = out + (first - begin);
    PixelCursor cursor{first / width, first % width, width};
    Items<Real>* current = &scratch.items(0);
    Items<Real>* next = &scratch.items(1);
    current->size = 0;
    std::uint32_t limit = std::min(max_iter, kFirstLimit);
    FirstRound<decltype(d), A, kShortcuts, kCycles>(d, xs, ys, cursor, pixels, limit, max_iter,
                                                    chunk_out, current, settled, skipped);
    while (current->size > 0) {
      PadItems(*current, hn::Lanes(d));
      const std::uint32_t start = limit;
      limit = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(max_iter, std::uint64_t{start} * kLimitGrowth));
      next->size = 0;
      LaterRound<decltype(d), A, kCycles>(d, *current, start, limit, max_iter, chunk_out,
                                          limit == max_iter ? nullptr : next, skipped);
      std::swap(current, next);
    }
  }
  // iterations_of(count) = min(count + 1, max_iter), in 64 bits so that no count wraps, written
  // without a branch so the compiler vectorises the sum; the settled pixels performed none, the
  // pixels found on a cycle only the iterations before it was found.
  std::uint64_t iterations = 0;
  for (std::int64_t i = 0; i < end - begin; ++i) {
    iterations += std::min<std::uint64_t>(std::uint64_t{out[i]} + 1, max_iter);
  }
  return iterations - settled * max_iter - skipped;
}

#define HETERO_SIMD_TILE_ENTRY(name, Real, A, shortcuts, cycles)                             \
  std::uint64_t name(const Real* xs, const Real* ys, std::int64_t width, std::int64_t begin, \
                     std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {         \
    return Tile<Real, A, shortcuts, cycles>(xs, ys, width, begin, end, max_iter, out);       \
  }
HETERO_SIMD_TILE_ENTRY(TileF64Exact, double, Arith::exact, false, false)
HETERO_SIMD_TILE_ENTRY(TileF64Fma, double, Arith::fma, false, false)
HETERO_SIMD_TILE_ENTRY(TileF32Exact, float, Arith::exact, false, false)
HETERO_SIMD_TILE_ENTRY(TileF32Fma, float, Arith::fma, false, false)
HETERO_SIMD_TILE_ENTRY(CyclesF64Exact, double, Arith::exact, false, true)
HETERO_SIMD_TILE_ENTRY(CyclesF64Fma, double, Arith::fma, false, true)
HETERO_SIMD_TILE_ENTRY(CyclesF32Exact, float, Arith::exact, false, true)
HETERO_SIMD_TILE_ENTRY(CyclesF32Fma, float, Arith::fma, false, true)
HETERO_SIMD_TILE_ENTRY(ShortcutsF64Exact, double, Arith::exact, true, false)
HETERO_SIMD_TILE_ENTRY(ShortcutsF64Fma, double, Arith::fma, true, false)
HETERO_SIMD_TILE_ENTRY(ShortcutsF32Exact, float, Arith::exact, true, false)
HETERO_SIMD_TILE_ENTRY(ShortcutsF32Fma, float, Arith::fma, true, false)
#undef HETERO_SIMD_TILE_ENTRY

const char* TargetName() {
  return hwy::TargetName(HWY_TARGET);
}
int VectorBytes() {
  return static_cast<int>(hn::Lanes(hn::ScalableTag<std::uint8_t>()));
}
int VectorLanes(int real_bytes, Arith mode) {
#if HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
  (void)real_bytes;
  (void)mode;
  return 1;
#else
  if (mode == Arith::fma && !HWY_NATIVE_FMA) return 1;
  return VectorBytes() / real_bytes;
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace hetero::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hetero::kernels::simd {

HWY_EXPORT(TileF64Exact);
HWY_EXPORT(TileF64Fma);
HWY_EXPORT(TileF32Exact);
HWY_EXPORT(TileF32Fma);
HWY_EXPORT(CyclesF64Exact);
HWY_EXPORT(CyclesF64Fma);
HWY_EXPORT(CyclesF32Exact);
HWY_EXPORT(CyclesF32Fma);
HWY_EXPORT(ShortcutsF64Exact);
HWY_EXPORT(ShortcutsF64Fma);
HWY_EXPORT(ShortcutsF32Exact);
HWY_EXPORT(ShortcutsF32Fma);
HWY_EXPORT(TargetName);
HWY_EXPORT(VectorBytes);
HWY_EXPORT(VectorLanes);

#define HETERO_SIMD_TILE_DISPATCH(function, entry, Real, A)                                     \
  template <>                                                                                   \
  std::uint64_t function<Real, A>(const Real* xs, const Real* ys, std::int64_t width,           \
                                  std::int64_t begin, std::int64_t end, std::uint32_t max_iter, \
                                  std::uint32_t* out) {                                         \
    return HWY_DYNAMIC_DISPATCH(entry)(xs, ys, width, begin, end, max_iter, out);               \
  }
HETERO_SIMD_TILE_DISPATCH(tile, TileF64Exact, double, Arith::exact)
HETERO_SIMD_TILE_DISPATCH(tile, TileF64Fma, double, Arith::fma)
HETERO_SIMD_TILE_DISPATCH(tile, TileF32Exact, float, Arith::exact)
HETERO_SIMD_TILE_DISPATCH(tile, TileF32Fma, float, Arith::fma)
HETERO_SIMD_TILE_DISPATCH(tile_cycles, CyclesF64Exact, double, Arith::exact)
HETERO_SIMD_TILE_DISPATCH(tile_cycles, CyclesF64Fma, double, Arith::fma)
HETERO_SIMD_TILE_DISPATCH(tile_cycles, CyclesF32Exact, float, Arith::exact)
HETERO_SIMD_TILE_DISPATCH(tile_cycles, CyclesF32Fma, float, Arith::fma)
HETERO_SIMD_TILE_DISPATCH(tile_shortcuts, ShortcutsF64Exact, double, Arith::exact)
HETERO_SIMD_TILE_DISPATCH(tile_shortcuts, ShortcutsF64Fma, double, Arith::fma)
HETERO_SIMD_TILE_DISPATCH(tile_shortcuts, ShortcutsF32Exact, float, Arith::exact)
HETERO_SIMD_TILE_DISPATCH(tile_shortcuts, ShortcutsF32Fma, float, Arith::fma)
#undef HETERO_SIMD_TILE_DISPATCH

std::string target_name() {
  return HWY_DYNAMIC_DISPATCH(TargetName)();
}
std::string target_name(std::int64_t target) {
  return hwy::TargetName(target);
}
int vector_bytes() {
  return HWY_DYNAMIC_DISPATCH(VectorBytes)();
}
int vector_lanes(int real_bytes, Arith mode) {
  return HWY_DYNAMIC_DISPATCH(VectorLanes)(real_bytes, mode);
}

std::vector<std::int64_t> runnable_targets() {
  std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  std::sort(targets.begin(), targets.end());  // a lower bit is a better target
  return targets;
}

void force_target(std::int64_t target) {
  hwy::SetSupportedTargetsForTest(target);
}

}  // namespace hetero::kernels::simd
#endif  // HWY_ONCE

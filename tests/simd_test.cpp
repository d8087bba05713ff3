// Tests of the simd node and its Highway kernels: bit-identical counts to the scalar kernel on
// every instruction set Highway can run here (each forced in turn), for both precisions and
// modes, on regions chosen to stress the kernel's escape screen, lane bookkeeping and cycle
// detection.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "nodes/host_kernel.hpp"
#include "nodes/simd/node.hpp"
#include "scalar/tile.hpp"
#include "scalar/tile_fma.hpp"
#include "simd/tile.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

namespace simd = kernels::simd;
using kernels::Arith;

using test::centred_job;
using test::preset_job;

struct Case {
  std::string name;
  JobSpec spec;
};

// Regions in one precision and mode, each chosen for something the kernel must get right.
std::vector<Case> cases(Precision p, Mode m) {
  return {
      // The seed tutorial's accumulated grid (fp64 exact sums to 51,214,485).
      {"seed", preset_job("seed", 500, 500, 1000, p, m)},
      // The whole set with a limit that is not a multiple of any block or round.
      {"full", preset_job("full", 211, 157, 777, p, m)},
      // Seahorse valley, deep: long escape times, neighbours that differ a lot.
      {"deep-zoom", centred_job(-0.743643887037151, 0.131825904205330, 2e-10, 64, 48, 3000, p, m)},
      // The tip c = -2: orbits that hover about |z| = 2 before they escape.
      {"tip", centred_job(-2.0, 0.0, 4e-7, 40, 40, 4000, p, m)},
      {"tip-coarse", centred_job(-1.99, 0.0, 0.05, 37, 29, 2000, p, m)},
      // The edge of the main cardioid and of the period-2 bulb.
      {"cardioid-edge", centred_job(0.25, 0.0, 0.02, 33, 33, 5000, p, m)},
      {"bulb-edge", centred_job(-0.75, 0.1, 0.02, 33, 33, 5000, p, m)},
      // Points that escape at iteration 0, and overflow to infinity and NaN after it.
      {"outside", test::region_job({2.5, 40.0, 2.0, 1e30}, 23, 19, 100, p, m)},
      {"huge", test::region_job({-1e300, 1e300, -1e300, 1e300}, 9, 7, 50, p, m)},
      // Limits below, at and just past the first round's and the blocks' lengths.
      {"max-iter-1", preset_job("full", 45, 31, 1, p, m)},
      {"max-iter-7", preset_job("full", 45, 31, 7, p, m)},
      {"max-iter-32", preset_job("full", 45, 31, 32, p, m)},
      {"max-iter-33", preset_job("full", 45, 31, 33, p, m)},
      {"max-iter-129", preset_job("full", 45, 31, 129, p, m)},
      // Odd shapes: single pixels, single rows and columns, lanes that straddle rows.
      {"1x1", preset_job("full", 1, 1, 300, p, m)},
      {"3x17", preset_job("full", 3, 17, 300, p, m)},
      {"17x3", preset_job("full", 17, 3, 300, p, m)},
      {"1x40", preset_job("full", 1, 40, 300, p, m)},
      // More pixels than one chunk of the kernel (16384), with a row width that is not a
      // multiple of any vector length.
      {"chunks", preset_job("full", 173, 131, 400, p, m)},
  };
}

template <class Real, Arith A>
std::uint64_t scalar_tile(const Job& job, std::int64_t begin, std::int64_t end,
                          std::uint32_t* out) {
  const AxesView<Real> axes = job.axes<Real>();
  return kernels::scalar::tile<Real, A>(axes.xs, axes.ys, axes.width, begin, end, job.max_iter(),
                                        out);
}

// The simd kernels: the plain vector loop, with cycle detection, with the cardioid and bulb
// test.
enum class Variant { plain, cycles, shortcuts };

template <Variant kVariant, class Real, Arith A>
std::uint64_t simd_axes_tile(const Real* xs, const Real* ys, std::int64_t width, std::int64_t begin,
                             std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  if constexpr (kVariant == Variant::plain) {
    return simd::tile<Real, A>(xs, ys, width, begin, end, max_iter, out);
  } else if constexpr (kVariant == Variant::cycles) {
    return simd::tile_cycles<Real, A>(xs, ys, width, begin, end, max_iter, out);
  } else {
    return simd::tile_shortcuts<Real, A>(xs, ys, width, begin, end, max_iter, out);
  }
}

template <class Real, Arith A, Variant kVariant>
std::uint64_t simd_tile(const Job& job, std::int64_t begin, std::int64_t end, std::uint32_t* out) {
  const AxesView<Real> axes = job.axes<Real>();
  return simd_axes_tile<kVariant, Real, A>(axes.xs, axes.ys, axes.width, begin, end, job.max_iter(),
                                           out);
}

using TileFn = std::uint64_t (*)(const Job&, std::int64_t, std::int64_t, std::uint32_t*);

template <Variant kVariant>
TileFn simd_for(const Job& job) {
  const bool exact = job.mode() == Mode::exact;
  if (job.precision() == Precision::fp64) {
    return exact ? simd_tile<double, Arith::exact, kVariant>
                 : simd_tile<double, Arith::fma, kVariant>;
  }
  return exact ? simd_tile<float, Arith::exact, kVariant> : simd_tile<float, Arith::fma, kVariant>;
}

TileFn scalar_for(const Job& job) {
  const bool exact = job.mode() == Mode::exact;
  if (job.precision() == Precision::fp64) {
    return exact ? scalar_tile<double, Arith::exact> : scalar_tile<double, Arith::fma>;
  }
  return exact ? scalar_tile<float, Arith::exact> : scalar_tile<float, Arith::fma>;
}

struct Counted {
  std::vector<std::uint32_t> counts;
  std::uint64_t iterations = 0;
};

Counted run_tile(TileFn fn, const Job& job, std::int64_t begin, std::int64_t end) {
  Counted result;
  result.counts.assign(static_cast<std::size_t>(end - begin), 0xDEADBEEFu);
  result.iterations = fn(job, begin, end, result.counts.data());
  return result;
}

// The scalar kernel's counts of a whole case, computed once per process.
const Counted& reference(const std::string& key, const Job& job) {
  static std::map<std::string, Counted> cache;
  auto found = cache.find(key);
  if (found == cache.end()) {
    found = cache.emplace(key, run_tile(scalar_for(job), job, 0, job.pixels())).first;
  }
  return found->second;
}

const std::vector<std::tuple<Precision, Mode>>& combinations() {
  static const std::vector<std::tuple<Precision, Mode>> all = {{Precision::fp64, Mode::exact},
                                                               {Precision::fp64, Mode::fma},
                                                               {Precision::fp32, Mode::exact},
                                                               {Precision::fp32, Mode::fma}};
  return all;
}

std::string key_of(const Case& c) {
  return fmt::format("{} {} {}", c.name, to_string(c.spec.precision), to_string(c.spec.mode));
}

// One test per instruction set Highway compiled and this CPU runs; the kernel is forced to it.
class SimdTarget : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override {
    simd::force_target(GetParam());
    ASSERT_EQ(simd::target_name(), simd::target_name(GetParam()))
        << "the kernel did not dispatch to the forced target";
  }
  void TearDown() override { simd::force_target(0); }
};

TEST_P(SimdTarget, MatchesScalarOnEveryRegionPrecisionAndMode) {
  for (const auto& [precision, mode] : combinations()) {
    for (const Case& c : cases(precision, mode)) {
      const Job job(c.spec);
      const Counted& expected = reference(key_of(c), job);
      const Counted actual = run_tile(simd_for<Variant::plain>(job), job, 0, job.pixels());
      EXPECT_EQ(actual.counts, expected.counts) << key_of(c);
      EXPECT_EQ(actual.iterations, expected.iterations) << key_of(c);
    }
  }
}

TEST_P(SimdTarget, SeedGridSumsToTheTutorialsValidationSum) {
  const Job job(preset_job("seed", 500, 500, 1000, Precision::fp64, Mode::exact));
  const Counted actual = run_tile(simd_for<Variant::plain>(job), job, 0, job.pixels());
  EXPECT_EQ(checksum(actual.counts).sum, 51214485U);
}

TEST_P(SimdTarget, TilesThatStartMidRowMatchScalar) {
  for (const auto& [precision, mode] : combinations()) {
    const Job job(preset_job("full", 53, 41, 600, precision, mode));
    const Counted& whole =
        reference(fmt::format("tiles {} {}", to_string(precision), to_string(mode)), job);
    // Ranges that begin and end mid-row, shorter and longer than a vector, across rows.
    const std::vector<std::pair<std::int64_t, std::int64_t>> ranges = {
        {0, 1},   {5, 6},     {52, 53},   {53, 54},   {7, 10},      {20, 37},
        {50, 70}, {100, 117}, {101, 166}, {333, 900}, {1000, 2173}, {2172, 2173}};
    for (const auto& [begin, end] : ranges) {
      const Counted tile = run_tile(simd_for<Variant::plain>(job), job, begin, end);
      const std::vector<std::uint32_t> expected(whole.counts.begin() + begin,
                                                whole.counts.begin() + end);
      EXPECT_EQ(tile.counts, expected)
          << to_string(precision) << " " << to_string(mode) << " [" << begin << ", " << end << ")";
      EXPECT_EQ(tile.iterations, run_tile(scalar_for(job), job, begin, end).iterations);
    }
  }
}

TEST_P(SimdTarget, ShortcutsNeverChangeACount) {
  for (const auto& [precision, mode] : combinations()) {
    for (const Case& c : cases(precision, mode)) {
      const Job job(c.spec);
      const Counted& expected = reference(key_of(c), job);
      const Counted actual = run_tile(simd_for<Variant::shortcuts>(job), job, 0, job.pixels());
      EXPECT_EQ(actual.counts, expected.counts) << key_of(c);
      // It returns the iterations it performed: those of the counts less max_iter for each
      // point it settled, and every settled point is one whose count is max_iter.
      EXPECT_LE(actual.iterations, expected.iterations) << key_of(c);
      const std::uint64_t skipped = expected.iterations - actual.iterations;
      EXPECT_EQ(skipped % job.max_iter(), 0U) << key_of(c);
      EXPECT_LE(skipped / job.max_iter(),
                static_cast<std::uint64_t>(
                    std::count(actual.counts.begin(), actual.counts.end(), job.max_iter())))
          << key_of(c);
    }
  }
}

// Regions for cycle detection, each with many points whose orbits end on a cycle, or come near
// one and leave it late.
std::vector<Case> cycle_cases(Precision p, Mode m) {
  return {
      // The period-2 bulb whole, and the cardioid's and the bulb's shared point c = -0.75,
      // where orbits converge slowly and the neighbours outside escape late.
      {"period-2-bulb", centred_job(-1.0, 0.0, 0.55, 41, 31, 2000, p, m)},
      {"pinch", centred_job(-0.75, 0.0, 0.004, 29, 23, 20000, p, m)},
      // The period-3 bulbs (upper, lower and the real one) and a period-4 bulb.
      {"period-3-upper", centred_job(-0.1226, 0.7449, 0.12, 35, 33, 3000, p, m)},
      {"period-3-lower", centred_job(-0.1226, -0.7449, 0.12, 35, 33, 3000, p, m)},
      {"period-3-real", centred_job(-1.7549, 0.0, 0.012, 37, 21, 3000, p, m)},
      {"period-4", centred_job(-1.3107, 0.0, 0.03, 31, 17, 3000, p, m)},
      // The cusp c = 1/4: outside it orbits creep past the fixed point for thousands of
      // iterations before they escape; a compare that is not exact settles them wrongly.
      {"cusp", centred_job(0.25, 0.0, 2e-7, 25, 25, 30000, p, m)},
      {"cusp-line", centred_job(0.25000005, 0.0, 1e-7, 48, 1, 200000, p, m)},
      // The main cardioid's edge away from the cusp and the pinch, and the period-2 bulb's:
      // inside, the cycle's multiplier nears 1, so orbits converge slowly (in the cardioid a
      // state passes the trap test only with a small disk, late), and the neighbours outside
      // stay near the cycle for thousands of iterations.
      {"cardioid-rim", centred_job(0.3742, 0.1934, 0.002, 31, 29, 50000, p, m)},
      {"bulb-rim", centred_job(-0.9094, 0.2330, 0.002, 31, 29, 50000, p, m)},
      // A large limit: long cycles, and boundary points whose cycle is never seen.
      {"large-limit", centred_job(-0.7436, 0.1318, 0.02, 17, 13, 100000, p, m)},
      // Limits that end in the first round, a round and a block, with the interior in view.
      {"interior-max-iter-2", centred_job(-0.4, 0.0, 2.4, 23, 19, 2, p, m)},
      {"interior-max-iter-3", centred_job(-0.4, 0.0, 2.4, 23, 19, 3, p, m)},
      {"interior-max-iter-40", centred_job(-0.4, 0.0, 2.4, 23, 19, 40, p, m)},
      {"interior-max-iter-200", centred_job(-0.4, 0.0, 2.4, 23, 19, 200, p, m)},
      {"interior-max-iter-513", centred_job(-0.4, 0.0, 2.4, 23, 19, 513, p, m)},
  };
}

// The independent plain loop's counts of a case (test::reference_counts), once per process.
const std::vector<std::uint32_t>& plain_loop(const std::string& key, const JobSpec& spec) {
  static std::map<std::string, std::vector<std::uint32_t>> cache;
  auto found = cache.find(key);
  if (found == cache.end()) found = cache.emplace(key, test::reference_counts(spec)).first;
  return found->second;
}

// Where fma mode has no fused vector instruction, the kernels run the scalar reference (no
// cycle detection there).
bool runs_vector_code(Precision precision, Mode mode) {
  return mode == Mode::exact ||
         simd::vector_lanes(precision == Precision::fp64 ? 8 : 4, Arith::fma) > 1;
}

// A run of a cycle-detecting kernel against the plain counts: the same counts, and iterations
// performed at most those the counts stand for, less only for pixels whose count is max_iter,
// each of which performed at least the first round's 32 iterations (a trapped state is seen at
// the first round's end at the earliest, a repeat one step later).
void expect_exact_with_fewer_iterations(const Counted& actual, const Counted& plain,
                                        std::uint32_t max_iter, const std::string& what) {
  EXPECT_EQ(actual.counts, plain.counts) << what;
  EXPECT_LE(actual.iterations, plain.iterations) << what;
  const auto interior =
      static_cast<std::uint64_t>(std::count(actual.counts.begin(), actual.counts.end(), max_iter));
  const std::uint32_t first_round = std::min<std::uint32_t>(max_iter, 32);
  EXPECT_LE(plain.iterations - std::min(actual.iterations, plain.iterations),
            interior * (max_iter - first_round))
      << what;
}

// Deep in the main cardioid every state is trapped by the end of the first round: no pixel
// performs more than its 32 iterations, where a repeat of the bits takes dozens more.
TEST_P(SimdTarget, TrappedStatesAreSettledAtTheEndOfTheFirstRound) {
  for (const auto& [precision, mode] : combinations()) {
    if (!runs_vector_code(precision, mode)) continue;
    const Job job(centred_job(-0.1, 0.1, 0.2, 37, 29, 100000, precision, mode));
    const std::string what = fmt::format("{} {}", to_string(precision), to_string(mode));
    const Counted actual = run_tile(simd_for<Variant::cycles>(job), job, 0, job.pixels());
    EXPECT_EQ(actual.counts, plain_loop("deep-cardioid " + what, job.spec())) << what;
    EXPECT_EQ(actual.iterations, static_cast<std::uint64_t>(job.pixels()) * 32) << what;
  }
}

TEST_P(SimdTarget, CycleDetectionGivesThePlainCountsOnEveryRegionPrecisionAndMode) {
  for (const auto& [precision, mode] : combinations()) {
    std::vector<Case> all = cases(precision, mode);
    for (Case& c : cycle_cases(precision, mode)) all.push_back(std::move(c));
    for (const Case& c : all) {
      const Job job(c.spec);
      const Counted& expected = reference(key_of(c), job);
      const Counted actual = run_tile(simd_for<Variant::cycles>(job), job, 0, job.pixels());
      expect_exact_with_fewer_iterations(actual, expected, job.max_iter(), key_of(c));
      EXPECT_EQ(actual.counts, plain_loop(key_of(c), c.spec)) << key_of(c) << ": plain loop";
    }
  }
}

// On the seed grid most of the interior's iterations are skipped: the shortcut is taken.
TEST_P(SimdTarget, CycleDetectionSkipsMostOfTheSeedsInterior) {
  for (const auto& [precision, mode] : combinations()) {
    const Case seed{"seed", preset_job("seed", 500, 500, 1000, precision, mode)};
    const Job job(seed.spec);
    const Counted& plain = reference(key_of(seed), job);
    const Counted actual = run_tile(simd_for<Variant::cycles>(job), job, 0, job.pixels());
    expect_exact_with_fewer_iterations(actual, plain, job.max_iter(), key_of(seed));
    if (!runs_vector_code(precision, mode)) {
      EXPECT_EQ(actual.iterations, plain.iterations) << key_of(seed) << ": the scalar reference";
      continue;
    }
    // About 50,000 interior pixels of 250,000 hold 50 of the 51 million iterations.
    EXPECT_LT(actual.iterations, plain.iterations * 6 / 10) << key_of(seed);
  }
}

TEST_P(SimdTarget, CycleDetectionOnTilesThatStartMidRow) {
  for (const auto& [precision, mode] : combinations()) {
    const Case c{"mid-row", centred_job(-0.6, 0.0, 1.2, 53, 41, 900, precision, mode)};
    const Job job(c.spec);
    const Counted& whole = reference(key_of(c), job);
    for (const auto& [begin, end] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {0, 1}, {52, 53}, {7, 10}, {50, 70}, {101, 166}, {333, 900}, {1000, 2173}}) {
      const Counted tile = run_tile(simd_for<Variant::cycles>(job), job, begin, end);
      Counted expected;
      expected.counts.assign(whole.counts.begin() + begin, whole.counts.begin() + end);
      expected.iterations = run_tile(scalar_for(job), job, begin, end).iterations;
      expect_exact_with_fewer_iterations(tile, expected, job.max_iter(),
                                         fmt::format("{} [{}, {})", key_of(c), begin, end));
    }
  }
}

// Inputs no job makes, straight on the kernel: limits of 0 to 3, signed zeros in both axes (an
// orbit with c = (x, -0.0) differs from c = (x, 0.0) only in zero signs), NaN and infinite
// coordinates (a NaN state repeats its bits: max_iter, as the scalar kernel gives).
template <class Real, Arith A>
void expect_cycles_agree_on_raw_axes() {
  const Real nan = std::numeric_limits<Real>::quiet_NaN();
  const Real inf = std::numeric_limits<Real>::infinity();
  std::vector<Real> xs = {Real(-0.0), Real(0.0),  Real(-1),   Real(-0.75), Real(-1.75),
                          Real(-2),   Real(0.25), nan,        inf,         -inf,
                          Real(-0.1), Real(0.3),  Real(-1.3), Real(1e30),  Real(-0.5)};
  for (int i = 0; i < 22; ++i) xs.push_back(Real(-2) + Real(0.11) * static_cast<Real>(i));
  const std::vector<Real> ys = {Real(0.0), Real(-0.0), Real(0.1),  Real(-0.1),
                                nan,       inf,        Real(0.65), Real(-0.65)};
  const auto width = static_cast<std::int64_t>(xs.size());
  const std::int64_t pixels = width * static_cast<std::int64_t>(ys.size());
  for (const std::uint32_t max_iter : {0U, 1U, 2U, 3U, 32U, 33U, 100U, 5000U}) {
    Counted expected, actual;
    expected.counts.assign(static_cast<std::size_t>(pixels), 0xDEADBEEFu);
    actual.counts.assign(static_cast<std::size_t>(pixels), 0xDEADBEEFu);
    expected.iterations = kernels::scalar::tile<Real, A>(xs.data(), ys.data(), width, 0, pixels,
                                                         max_iter, expected.counts.data());
    actual.iterations = simd::tile_cycles<Real, A>(xs.data(), ys.data(), width, 0, pixels, max_iter,
                                                   actual.counts.data());
    expect_exact_with_fewer_iterations(
        actual, expected, max_iter,
        fmt::format("{} {} max-iter {}", sizeof(Real) == 8 ? "fp64" : "fp32",
                    A == Arith::exact ? "exact" : "fma", max_iter));
  }
}

TEST_P(SimdTarget, CycleDetectionOnSignedZerosNaNAndInfinities) {
  expect_cycles_agree_on_raw_axes<double, Arith::exact>();
  expect_cycles_agree_on_raw_axes<double, Arith::fma>();
  expect_cycles_agree_on_raw_axes<float, Arith::exact>();
  expect_cycles_agree_on_raw_axes<float, Arith::fma>();
}

// Bits of a value, less the lowest `dropped`.
template <class Real>
std::uint64_t high_bits(Real value, int dropped) {
  std::conditional_t<sizeof(Real) == 8, std::uint64_t, std::uint32_t> bits;
  std::memcpy(&bits, &value, sizeof(Real));
  return bits >> dropped;
}

// The kernel's first comparison on one pixel, written out: after 32 iterations, in blocks of
// 64 steps, the states after each of a block's first 16 steps are compared with its start state,
// and a pixel that matched and did not escape by the block's end gets max_iter. That gives the
// plain loop's count when the compare is of bits (0) or of values (1: a value differs from its
// bits only in the sign of a zero, which no later value depends on), and a wrong count for some
// pixel of the cusp line when the compare leaves out the lowest bits (2: the last two in fp32,
// the last 24 in fp64), as orbits there creep by less than that for tens of thousands of
// iterations before they escape. The kernel's tests run that case, so they would catch such a
// compare. (In fp64 only orbits that escape later than a test can afford creep by less than
// the last few bits.)
template <class Real>
std::uint32_t repeat_point(Real cx, Real cy, std::uint32_t max_iter, Mode mode, int compare) {
  Real x = 0, y = 0, start_x = 0, start_y = 0;
  bool matched = false;
  for (std::uint32_t i = 0; i < max_iter; ++i) {
    const bool block_start = i >= 32 && (i - 32) % 64 == 0;
    if (block_start && matched) return max_iter;
    if (block_start) {
      start_x = x;
      start_y = y;
    }
    if (test::plain_step(x, y, cx, cy, mode) > Real(4)) return i;
    if (i < 32 || (i - 32) % 64 >= 16) continue;
    if (compare == 0) {
      matched = matched || (std::memcmp(&x, &start_x, sizeof(Real)) == 0 &&
                            std::memcmp(&y, &start_y, sizeof(Real)) == 0);
    } else if (compare == 1) {
      matched = matched || (x == start_x && y == start_y);
    } else {
      const int dropped = sizeof(Real) == 8 ? 24 : 2;
      matched = matched || (high_bits(x, dropped) == high_bits(start_x, dropped) &&
                            high_bits(y, dropped) == high_bits(start_y, dropped));
    }
  }
  return max_iter;
}

TEST(CycleDetection, ExactOnBitsAndValuesAndTheCasesCatchAnInexactCompare) {
  for (const auto& [precision, mode] : combinations()) {
    for (const Case& c : cycle_cases(precision, mode)) {
      if (c.name == "large-limit") continue;  // long enough here
      const Job job(c.spec);
      const std::vector<std::uint32_t>& expected = plain_loop(key_of(c), c.spec);
      std::vector<std::uint32_t> counts[3];
      for (std::int64_t row = 0; row < c.spec.height; ++row) {
        for (std::int64_t column = 0; column < c.spec.width; ++column) {
          const double cx = job.xs()[static_cast<std::size_t>(column)];
          const double cy = job.ys()[static_cast<std::size_t>(row)];
          for (int compare = 0; compare < 3; ++compare) {
            counts[compare].push_back(
                precision == Precision::fp64
                    ? repeat_point<double>(cx, cy, c.spec.max_iter, mode, compare)
                    : repeat_point<float>(static_cast<float>(cx), static_cast<float>(cy),
                                          c.spec.max_iter, mode, compare));
          }
        }
      }
      EXPECT_EQ(counts[0], expected) << key_of(c) << ": bits";
      EXPECT_EQ(counts[1], expected) << key_of(c) << ": values";
      if (c.name == "cusp-line") {
        EXPECT_NE(counts[2], expected) << key_of(c) << ": lowest bits left out";
      }
    }
  }
}

// The FMA instruction build is chosen exactly where the kernel lists fma and avx among the CPU's
// flags (flags the OS cannot use are not listed).
TEST(ScalarFma, TheFmaInstructionBuildIsChosenWhereTheCpuListsFma) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the FMA instruction build is made for x86-64 only";
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && line.rfind("flags", 0) != 0) {
  }
  ASSERT_EQ(line.rfind("flags", 0), 0U) << "/proc/cpuinfo lists no flags";
  line += ' ';
  const bool listed =
      line.find(" fma ") != std::string::npos && line.find(" avx ") != std::string::npos;
  EXPECT_EQ(kernels::scalar_fma_tile_fp64() != nullptr, listed);
  EXPECT_EQ(kernels::scalar_fma_tile_fp32() != nullptr, listed);
}

// The scalar fma-mode kernel built for FMA instructions (what the scalar family runs where the
// CPU has them) gives the C library build's counts and iterations on every case.
TEST(ScalarFma, TheFmaInstructionBuildGivesTheLibraryBuildsCounts) {
  const auto fp64 = kernels::scalar_fma_tile_fp64();
  const auto fp32 = kernels::scalar_fma_tile_fp32();
  if (fp64 == nullptr || fp32 == nullptr) {
    GTEST_SKIP() << "this build or CPU has no FMA instructions: the scalar family runs the C "
                    "library's fma()";
  }
  for (const Precision precision : {Precision::fp64, Precision::fp32}) {
    for (const Case& c : cases(precision, Mode::fma)) {
      const Job job(c.spec);
      Counted built;
      built.counts.assign(static_cast<std::size_t>(job.pixels()), 0xDEADBEEFu);
      if (precision == Precision::fp64) {
        const AxesView<double> axes = job.axes<double>();
        built.iterations = fp64(axes.xs, axes.ys, axes.width, 0, job.pixels(), job.max_iter(),
                                built.counts.data());
      } else {
        const AxesView<float> axes = job.axes<float>();
        built.iterations = fp32(axes.xs, axes.ys, axes.width, 0, job.pixels(), job.max_iter(),
                                built.counts.data());
      }
      const Counted& library = reference(key_of(c), job);
      EXPECT_EQ(built.counts, library.counts) << key_of(c);
      EXPECT_EQ(built.iterations, library.iterations) << key_of(c);
    }
  }
  EXPECT_EQ(nodes::host_kernel_family("scalar").fp64[static_cast<int>(Arith::fma)], fp64)
      << "the scalar family runs the FMA build";
}

// On the seed grid, whose interior is mostly the main cardioid, the shortcuts settle points:
// they perform fewer iterations than the counts stand for, and reports say both.
TEST(SimdNode, ShortcutsReportIterationsPerformedAndEffectiveApart) {
  const JobSpec spec = resolve_job(JobRequest{});
  std::uint64_t effective = 0;
  for (const std::uint32_t count : test::reference_counts(spec)) {
    effective += iterations_of(count, spec.max_iter);
  }
  NodeOptions options;
  options.kernel = "simd-shortcuts";
  const RunResult shortcuts = test::run_on({"simd"}, spec, Policy::dynamic, 0, options);
  EXPECT_EQ(shortcuts.report.checksum.sum, test::kSeedSum);
  EXPECT_EQ(shortcuts.report.effective_iterations, effective);
  EXPECT_LT(shortcuts.report.iterations, effective / 2) << "the cardioid holds most iterations";
  options.kernel = "simd";
  const RunResult plain = test::run_on({"simd"}, spec, Policy::dynamic, 0, options);
  EXPECT_EQ(plain.report.iterations, effective);
  EXPECT_EQ(plain.report.effective_iterations, effective);
}

// The node's default kernel detects cycles: the seed's exact counts, in fewer iterations than
// they stand for, and the report says both; the plain loop stays selectable by name.
TEST(SimdNode, DefaultKernelDetectsCyclesAndTheReportSaysSo) {
  EXPECT_EQ(NodeRegistry::builtin().describe("simd").tile_kernel, "simd-cycles");
  const JobSpec spec = resolve_job(JobRequest{});
  std::uint64_t effective = 0;
  for (const std::uint32_t count : test::reference_counts(spec)) {
    effective += iterations_of(count, spec.max_iter);
  }
  const RunResult cycles = test::run_on({"simd"}, spec);
  EXPECT_EQ(cycles.report.checksum.sum, test::kSeedSum);
  EXPECT_EQ(cycles.report.checksum.hash_hex(), test::kSeedHash);
  EXPECT_EQ(cycles.report.effective_iterations, effective);
  EXPECT_LE(cycles.report.iterations, effective);
  if (runs_vector_code(spec.precision, spec.mode)) {
    EXPECT_LT(cycles.report.iterations, effective * 6 / 10);
  }
  for (const std::string kernel : {"simd", "simd-shortcuts", "simd-cycles"}) {
    NodeOptions options;
    options.kernel = kernel;
    EXPECT_EQ(NodeRegistry::builtin().describe("simd", options).tile_kernel, kernel);
  }
  NodeOptions scalar;
  scalar.kernel = "scalar";  // the other host nodes' kernel: the simd node keeps its own
  EXPECT_EQ(NodeRegistry::builtin().describe("simd", scalar).tile_kernel, "simd-cycles");
  // Each kernel is named in the node's description, and so in the throughput model's key.
  NodeOptions plain;
  plain.kernel = "simd";
  EXPECT_NE(ThroughputModel::identity(NodeRegistry::builtin().describe("simd")),
            ThroughputModel::identity(NodeRegistry::builtin().describe("simd", plain)));
}

// A NaN coordinate never escapes (|z|^2 > 4 is false for NaN): max_iter, as the scalar kernel
// gives, at several lane positions of a vector. (Job refuses NaN bounds; the kernels agree
// anyway.)
template <class Real, Arith A>
void expect_nan_agrees() {
  const std::int64_t width = 37, height = 3;
  const std::uint32_t max_iter = 300;
  std::vector<Real> xs(static_cast<std::size_t>(width)), ys(static_cast<std::size_t>(height));
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = Real(-2) + Real(0.07) * static_cast<Real>(i);
  for (std::size_t j = 0; j < ys.size(); ++j) ys[j] = Real(0.3) * static_cast<Real>(j);
  for (const std::size_t column : {0U, 5U, 17U, 36U})
    xs[column] = std::numeric_limits<Real>::quiet_NaN();
  const auto pixels = static_cast<std::size_t>(width * height);
  std::vector<std::uint32_t> expected(pixels), actual(pixels);
  const std::uint64_t expected_iterations = kernels::scalar::tile<Real, A>(
      xs.data(), ys.data(), width, 0, width * height, max_iter, expected.data());
  const std::uint64_t iterations =
      simd::tile<Real, A>(xs.data(), ys.data(), width, 0, width * height, max_iter, actual.data());
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(iterations, expected_iterations);
  EXPECT_EQ(actual[5], max_iter);
}

TEST_P(SimdTarget, NaNCoordinatesNeverEscapeAsInTheScalarKernel) {
  expect_nan_agrees<double, Arith::exact>();
  expect_nan_agrees<double, Arith::fma>();
  expect_nan_agrees<float, Arith::exact>();
  expect_nan_agrees<float, Arith::fma>();
}

INSTANTIATE_TEST_SUITE_P(Targets, SimdTarget, ::testing::ValuesIn(simd::runnable_targets()),
                         [](const ::testing::TestParamInfo<std::int64_t>& param) {
                           return simd::target_name(param.param);
                         });

TEST(SimdKernel, RunsOnTheBestTargetByDefault) {
  const std::vector<std::int64_t> targets = simd::runnable_targets();
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(simd::target_name(), simd::target_name(targets.front()));
}

// The simd tile kernel on each host node that can run it; a node that cannot run here is a
// skip with its reason.
class SimdKernelOn : public test::OnEachNode {};

TEST_P(SimdKernelOn, MatchesThePlainLoop) {
  NodeOptions options;
  options.workers = 3;
  for (const std::string kernel : {"simd-cycles", "simd", "simd-shortcuts"}) {
    options.kernel = kernel;
    for (const auto& [precision, mode] : combinations()) {
      const JobSpec spec = preset_job("full", 120, 90, 500, precision, mode);
      const std::vector<std::uint32_t> expected = test::reference_counts(spec);
      for (const std::int64_t tile : {std::int64_t{0}, std::int64_t{7}, std::int64_t{1000}}) {
        EXPECT_EQ(test::run_on({GetParam()}, spec, Policy::dynamic, tile, options).counts, expected)
            << "kernel " << kernel << " " << to_string(precision) << " " << to_string(mode)
            << " tile " << tile;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SimdNode, SimdKernelOn, ::testing::Values("threads", "openmp", "simd"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

TEST(SimdNode, SeedPresetOnSeveralWorkers) {
  NodeOptions options;
  options.workers = 4;
  const RunResult result =
      test::run_on({"simd"}, resolve_job(JobRequest{}), Policy::dynamic, 0, options);
  EXPECT_EQ(result.report.checksum.sum, 51214485U);
}

TEST(SimdNode, DescribesItsInstructionSetAndPeak) {
  NodeOptions options;
  options.workers = 2;
  const NodeInfo info = NodeRegistry::builtin().describe("simd", options);
  ASSERT_TRUE(info.available) << info.reason;
  EXPECT_EQ(info.concurrency, 2);
  EXPECT_NE(info.device.find("Highway " + simd::target_name()), std::string::npos) << info.device;
  EXPECT_NE(info.device.find("model peak"), std::string::npos) << info.device;
}

TEST(SimdNode, PeakModelFollowsLanesClockAndCores) {
  const double one = nodes::simd_peak_giters(Precision::fp64, Mode::exact, 1, 3.0);
  const int lanes = simd::vector_lanes(8, Arith::exact);
  const int pipes = host_machine().fma_ports;
  EXPECT_DOUBLE_EQ(one, 3.0 * pipes * lanes / 7);
  EXPECT_DOUBLE_EQ(nodes::simd_peak_giters(Precision::fp64, Mode::exact, 4, 3.0), 4 * one);
  EXPECT_DOUBLE_EQ(nodes::simd_peak_giters(Precision::fp64, Mode::exact, 1, 1.5), one / 2);
  EXPECT_DOUBLE_EQ(nodes::simd_peak_giters(Precision::fp32, Mode::exact, 1, 3.0),
                   3.0 * pipes * simd::vector_lanes(4, Arith::exact) / 7);
  if (lanes > 1) {
    EXPECT_EQ(simd::vector_lanes(4, Arith::exact), 2 * lanes);
    EXPECT_EQ(lanes * 8, simd::vector_bytes());
  }
}

TEST(SimdNode, KernelsAreRegisteredForTheOtherHostNodes) {
  (void)NodeRegistry::builtin();  // registration happens with the built-in registry
  const std::vector<std::string> names = nodes::host_kernel_names();
  for (const std::string kernel : {"simd-cycles", "simd", "simd-shortcuts"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), kernel), names.end()) << kernel;
  }
}

}  // namespace
}  // namespace hetero

// Tests of the simd node and its Highway kernel: bit-identical counts to the scalar kernel on
// every instruction set Highway can run here (each forced in turn), for both precisions and
// modes, on regions chosen to stress the kernel's escape screen and lane bookkeeping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <tuple>
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

JobSpec preset_job(const std::string& preset, std::int64_t width, std::int64_t height,
                   std::int64_t max_iter, Precision precision, Mode mode) {
  JobRequest request;
  request.preset = preset;
  request.width = width;
  request.height = height;
  request.max_iter = max_iter;
  request.precision = precision;
  request.mode = mode;
  return resolve_job(request);
}

JobSpec centred_job(double x, double y, double scale, std::int64_t width, std::int64_t height,
                    std::int64_t max_iter, Precision precision, Mode mode) {
  JobRequest request;
  request.preset = "region";
  request.center_x = x;
  request.center_y = y;
  request.view_width = scale;
  request.width = width;
  request.height = height;
  request.max_iter = max_iter;
  request.precision = precision;
  request.mode = mode;
  return resolve_job(request);
}

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

template <class Real, Arith A, bool kShortcuts>
std::uint64_t simd_tile(const Job& job, std::int64_t begin, std::int64_t end, std::uint32_t* out) {
  const AxesView<Real> axes = job.axes<Real>();
  if constexpr (kShortcuts) {
    return simd::tile_shortcuts<Real, A>(axes.xs, axes.ys, axes.width, begin, end, job.max_iter(),
                                         out);
  } else {
    return simd::tile<Real, A>(axes.xs, axes.ys, axes.width, begin, end, job.max_iter(), out);
  }
}

using TileFn = std::uint64_t (*)(const Job&, std::int64_t, std::int64_t, std::uint32_t*);

template <bool kShortcuts>
TileFn simd_for(const Job& job) {
  const bool exact = job.mode() == Mode::exact;
  if (job.precision() == Precision::fp64) {
    return exact ? simd_tile<double, Arith::exact, kShortcuts>
                 : simd_tile<double, Arith::fma, kShortcuts>;
  }
  return exact ? simd_tile<float, Arith::exact, kShortcuts>
               : simd_tile<float, Arith::fma, kShortcuts>;
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
      const Counted actual = run_tile(simd_for<false>(job), job, 0, job.pixels());
      EXPECT_EQ(actual.counts, expected.counts) << key_of(c);
      EXPECT_EQ(actual.iterations, expected.iterations) << key_of(c);
    }
  }
}

TEST_P(SimdTarget, SeedGridSumsToTheTutorialsValidationSum) {
  const Job job(preset_job("seed", 500, 500, 1000, Precision::fp64, Mode::exact));
  const Counted actual = run_tile(simd_for<false>(job), job, 0, job.pixels());
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
      const Counted tile = run_tile(simd_for<false>(job), job, begin, end);
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
      const Counted actual = run_tile(simd_for<true>(job), job, 0, job.pixels());
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

// On the seed grid, whose interior is mostly the main cardioid, the shortcuts settle points:
// they perform fewer iterations than the counts stand for, and reports say both.
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
class SimdKernelOn : public ::testing::TestWithParam<std::string> {};

TEST_P(SimdKernelOn, MatchesThePlainLoop) {
  const NodeInfo info = NodeRegistry::builtin().describe(GetParam());
  if (!info.available) GTEST_SKIP() << GetParam() << " is unavailable: " << info.reason;
  NodeOptions options;
  options.workers = 3;
  for (const std::string kernel : {"simd", "simd-shortcuts"}) {
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
  EXPECT_NE(std::find(names.begin(), names.end(), "simd"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "simd-shortcuts"), names.end());
}

}  // namespace
}  // namespace hetero

// The workload: point function, presets, axes, validation of outside input, tiles, checksums.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <string_view>

#include "core/parse.hpp"
#include "hetero/backend/dispatcher.hpp"
#include "hetero/hetero.hpp"
#include "mandelbrot.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

using kernels::Arith;

TEST(PointFunction, FollowsTheRecurrenceOnPointsWithKnownOrbits) {
  // c = 0 stays at 0; c = -2 settles at z = 2 where |z|^2 = 4 is not > 4.
  EXPECT_EQ((kernels::point<double, Arith::exact>(0.0, 0.0, 100)), 100U);
  EXPECT_EQ((kernels::point<double, Arith::exact>(-2.0, 0.0, 100)), 100U);
  // c = 2+2i: z1 = c, |z1|^2 = 8 > 4 at iteration 0.
  EXPECT_EQ((kernels::point<double, Arith::exact>(2.0, 2.0, 100)), 0U);
  // c = 1: z = 1, 2, 5: |z|^2 = 25 > 4 first at iteration 2.
  EXPECT_EQ((kernels::point<double, Arith::exact>(1.0, 0.0, 100)), 2U);
  EXPECT_EQ((kernels::point<float, Arith::fma>(1.0F, 0.0F, 100)), 2U);
  // The limit caps the count.
  EXPECT_EQ((kernels::point<double, Arith::exact>(1.0, 0.0, 2)), 2U);
  EXPECT_EQ((kernels::point<double, Arith::exact>(1.0, 0.0, 1)), 1U);
}

// The point function (squares kept in exact mode), and its device form (two steps a round),
// give the plain loop's count for every limit, odd or even, and points escaping at every step.
template <class Real, Arith A>
void expect_plain_counts() {
  const Mode mode = A == Arith::exact ? Mode::exact : Mode::fma;
  for (std::uint32_t max_iter = 0; max_iter <= 9; ++max_iter) {
    for (int i = 0; i < 41; ++i) {
      for (int j = 0; j < 31; ++j) {
        const Real cx = Real(-2.1) + Real(i) * Real(0.07);
        const Real cy = Real(-1.2) + Real(j) * Real(0.08);
        const std::uint32_t plain = test::plain_point<Real>(cx, cy, max_iter, mode);
        ASSERT_EQ((kernels::point<Real, A>(cx, cy, max_iter)), plain)
            << cx << "," << cy << " max_iter " << max_iter;
        ASSERT_EQ((kernels::point_two_steps_a_round<Real, A>(cx, cy, max_iter)), plain)
            << cx << "," << cy << " max_iter " << max_iter << ", two steps a round";
      }
    }
  }
}

TEST(PointFunction, GivesThePlainLoopsCountForEveryLimit) {
  expect_plain_counts<double, Arith::exact>();
  expect_plain_counts<double, Arith::fma>();
  expect_plain_counts<float, Arith::exact>();
  expect_plain_counts<float, Arith::fma>();
}

// The device form (two steps a round, as the CUDA kernels run it) on the CPU, at the edges: a
// NaN never escapes (every comparison is false) and counts the limit, an infinity escapes at
// once, and the largest limit (2^31-1) neither overflows nor changes a count.
template <class Real, Arith A>
void expect_edges_on_both_forms() {
  const Mode mode = A == Arith::exact ? Mode::exact : Mode::fma;
  const Real nan = std::numeric_limits<Real>::quiet_NaN();
  const Real inf = std::numeric_limits<Real>::infinity();
  constexpr std::uint32_t kLargest = 2147483647U;
  struct Case {
    Real cx, cy;
    std::uint32_t max_iter;
  };
  for (const Case c : {Case{nan, 0, 1001}, Case{0, nan, 1000}, Case{inf, 0, 7}, Case{0, -inf, 8},
                       Case{1, 0, kLargest}, Case{Real(0.2501), 0, kLargest},
                       Case{Real(-0.75), Real(0.01), kLargest}}) {
    const std::uint32_t plain = test::plain_point<Real>(c.cx, c.cy, c.max_iter, mode);
    EXPECT_EQ((kernels::point<Real, A>(c.cx, c.cy, c.max_iter)), plain) << c.cx << "," << c.cy;
    EXPECT_EQ((kernels::point_two_steps_a_round<Real, A>(c.cx, c.cy, c.max_iter)), plain)
        << c.cx << "," << c.cy << ", two steps a round";
    if (std::isnan(c.cx) || std::isnan(c.cy)) {
      EXPECT_EQ(plain, c.max_iter);
    }
    if (std::isinf(c.cx) || std::isinf(c.cy)) {
      EXPECT_EQ(plain, 0U);
    }
    if (c.max_iter == kLargest) {
      EXPECT_LT(plain, kLargest) << "these points escape";
    }
  }
}

TEST(PointFunction, TheDeviceFormHandlesNaNInfinityAndTheLargestLimit) {
  expect_edges_on_both_forms<double, Arith::exact>();
  expect_edges_on_both_forms<double, Arith::fma>();
  expect_edges_on_both_forms<float, Arith::exact>();
  expect_edges_on_both_forms<float, Arith::fma>();
}

TEST(PointFunction, IterationsCountTheEscapingStep) {
  EXPECT_EQ(iterations_of(0, 10), 1U);
  EXPECT_EQ(iterations_of(9, 10), 10U);
  EXPECT_EQ(iterations_of(10, 10), 10U);
}

TEST(SeedPreset, ReproducesTheTutorialsGrid) {
  const JobSpec spec = resolve_job(JobRequest{});
  EXPECT_EQ(spec.preset, "seed");
  EXPECT_EQ(spec.width, 500);
  EXPECT_EQ(spec.height, 500);
  EXPECT_EQ(spec.max_iter, 1000U);
  const Axes axes = make_axes(spec);
  // Built by repeated addition of (x2 - x1) / 1000 * 2, as the tutorial's loops do.
  const double x_step = (0.77 - -2.13) / 1000.0 * 2;
  const double y_step = (-1.3 - 1.3) / 1000.0 * 2;
  double x = -2.13, y = 1.3;
  for (std::size_t i = 0; i < 500; ++i) {
    ASSERT_EQ(axes.xs[i], x) << i;
    ASSERT_EQ(axes.ys[i], y) << i;
    x += x_step;
    y += y_step;
  }
  EXPECT_LT(axes.xs.back(), 0.77);
  EXPECT_GT(axes.ys.back(), -1.3);
}

TEST(Presets, WidthHeightAndMaxIterOverrideDefaults) {
  JobRequest request;
  request.preset = "full";
  request.width = 300;
  request.max_iter = 77;
  const JobSpec spec = resolve_job(request);
  EXPECT_EQ(spec.width, 300);
  EXPECT_EQ(spec.height, 300);
  EXPECT_EQ(spec.max_iter, 77U);
  const Axes axes = make_axes(spec);
  EXPECT_GT(axes.xs.front(), spec.region.xmin);
  EXPECT_LT(axes.xs.back(), spec.region.xmax);
  EXPECT_GT(axes.ys.front(), axes.ys.back());  // row 0 is the top
}

TEST(Presets, CenterAndViewWidthDefineTheRegion) {
  JobRequest request;
  request.center_x = -0.5;
  request.center_y = 0.25;
  request.view_width = 2.0;
  request.width = 200;
  request.height = 100;
  const JobSpec spec = resolve_job(request);
  EXPECT_EQ(spec.preset, "region");
  EXPECT_DOUBLE_EQ(spec.region.xmin, -1.5);
  EXPECT_DOUBLE_EQ(spec.region.xmax, 0.5);
  EXPECT_DOUBLE_EQ(spec.region.ymin, -0.25);
  EXPECT_DOUBLE_EQ(spec.region.ymax, 0.75);
}

TEST(Presets, RegionHeightFollowsTheAspectRatio) {
  JobRequest request;
  request.region = Region{0, 2, 0, 1};
  request.width = 100;
  EXPECT_EQ(resolve_job(request).height, 50);
}

JobRequest with(void (*change)(JobRequest&)) {
  JobRequest request;
  change(request);
  return request;
}

TEST(Validation, RejectsBadRequestsWithOneLine) {
  const std::vector<std::pair<const char*, JobRequest>> cases = {
      {"width", with([](JobRequest& r) { r.width = 0; })},
      {"width", with([](JobRequest& r) { r.width = -5; })},
      {"height", with([](JobRequest& r) { r.height = std::int64_t{1} << 31; })},
      {"max-iter", with([](JobRequest& r) { r.max_iter = 0; })},
      {"max-iter", with([](JobRequest& r) { r.max_iter = std::int64_t{1} << 31; })},
      {"unknown preset", with([](JobRequest& r) { r.preset = "mandel"; })},
      {"xmin", with([](JobRequest& r) {
         r.region = Region{1, 0, 0, 1};
       })},
      {"ymin", with([](JobRequest& r) {
         r.region = Region{0, 1, 1, 1};
       })},
      {"finite", with([](JobRequest& r) {
         r.region = Region{std::numeric_limits<double>::quiet_NaN(), 1, 0, 1};
       })},
      {"finite", with([](JobRequest& r) {
         r.region = Region{0, std::numeric_limits<double>::infinity(), 0, 1};
       })},
      {"fixes its own region", with([](JobRequest& r) {
         r.preset = "seed";
         r.region = Region{0, 1, 0, 1};
       })},
      {"go together", with([](JobRequest& r) { r.view_width = 1.0; })},
      {"positive", with([](JobRequest& r) {
         r.center_x = 0;
         r.center_y = 0;
         r.view_width = -1;
       })},
      {"memory", with([](JobRequest& r) {
         r.width = (std::int64_t{1} << 31) - 1;
         r.height = (std::int64_t{1} << 31) - 1;
       })},
  };
  for (const auto& [needle, request] : cases) {
    try {
      resolve_job(request);
      ADD_FAILURE() << "accepted a request that should fail on: " << needle;
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(needle), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(Parsing, IntegersAreStrict) {
  EXPECT_EQ(parse_integer("--n", "42", 0, 100), 42);
  EXPECT_EQ(parse_integer("--n", "+7", 0, 100), 7);
  EXPECT_EQ(parse_integer("--n", "-3", -10, 100), -3);
  // "+-5" and "++5" were accepted as -5 and 5 until fuzzing found it.
  for (const char* bad :
       {"", "abc", "4x", "1e3", " 5", "5 ", "0x10", "3.0", "--1", "+-5", "++5", "+"}) {
    EXPECT_THROW(parse_integer("--n", bad, -100, 100), UsageError) << bad;
  }
  EXPECT_THROW(parse_integer("--n", "101", 0, 100), UsageError);
  EXPECT_THROW(parse_integer("--n", "99999999999999999999999", 0, 100), UsageError);
}

TEST(Parsing, RealsAreFinite) {
  EXPECT_DOUBLE_EQ(parse_real("--x", "-2.13"), -2.13);
  EXPECT_DOUBLE_EQ(parse_real("--x", "1e-3"), 1e-3);
  for (const char* bad : {"", "nan", "inf", "-inf", "1e999", "two", "1.5.2", "0,5", "+-1.5"}) {
    EXPECT_THROW(parse_real("--x", bad), UsageError) << bad;
  }
}

// Found by fuzzing: the estimate wrapped around 2^64 for the largest images.
TEST(Validation, MemoryEstimateDoesNotWrapAround) {
  JobSpec spec;
  spec.width = (std::int64_t{1} << 31) - 1;
  spec.height = (std::int64_t{1} << 31) - 1;
  EXPECT_GT(estimate_host_bytes(spec, false), std::uint64_t{1} << 63);
  EXPECT_EQ(estimate_host_bytes(spec, true), std::numeric_limits<std::uint64_t>::max());
  spec.width = 1000;
  spec.height = 1000;
  EXPECT_EQ(estimate_host_bytes(spec, false), 4000000U + 2000U * 12U);
}

// A spec built by hand is checked like a request: NaN, infinite or unordered bounds, sides and
// max_iter out of range never reach a kernel.
TEST(Validation, JobRefusesASpecThatResolveJobWouldRefuse) {
  const JobSpec good = resolve_job(JobRequest{});
  EXPECT_NO_THROW(Job{good});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<JobSpec> bad(8, good);
  bad[0].region.xmin = nan;
  bad[1].region.ymax = inf;
  bad[2].region.xmax = bad[2].region.xmin;
  bad[3].region.ymin = bad[3].region.ymax + 1;
  bad[4].width = 0;
  bad[5].height = std::int64_t{1} << 31;
  bad[6].max_iter = 0;
  bad[7].max_iter = std::numeric_limits<std::uint32_t>::max();
  for (std::size_t i = 0; i < bad.size(); ++i) {
    try {
      const Job job(bad[i]);
      ADD_FAILURE() << "spec " << i << " was accepted";
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("job: ", 0), 0U) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(Parsing, NamesListTheValidChoices) {
  EXPECT_EQ(parse_precision("fp32"), Precision::fp32);
  EXPECT_EQ(parse_mode("fma"), Mode::fma);
  EXPECT_EQ(parse_policy("static"), Policy::static_split);
  try {
    parse_policy("fastest");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("dynamic"), std::string::npos);
  }
  EXPECT_THROW(parse_precision("fp16"), UsageError);
  EXPECT_THROW(parse_mode("fast"), UsageError);
}

TEST(Tiles, CoverTheImageWithoutOverlap) {
  for (const std::int64_t tile : {1, 3, 10, 11, 1000}) {
    const std::vector<Tile> tiles = make_tiles(101, tile);
    std::int64_t next = 0;
    for (std::size_t i = 0; i < tiles.size(); ++i) {
      EXPECT_EQ(tiles[i].index, static_cast<std::int64_t>(i));
      EXPECT_EQ(tiles[i].begin, next);
      EXPECT_GT(tiles[i].size(), 0);
      EXPECT_LE(tiles[i].size(), tile);
      next = tiles[i].end;
    }
    EXPECT_EQ(next, 101);
  }
}

TEST(Tiles, AutomaticSizeGivesSeveralTilesPerLaneInWholeRows) {
  const JobSpec spec = resolve_job(JobRequest{});
  for (const int lanes : {1, 2, 8}) {
    const std::int64_t tile = auto_tile_pixels(spec, lanes);
    EXPECT_EQ(tile % spec.width, 0) << lanes;
    const std::int64_t tiles = (spec.pixels() + tile - 1) / tile;
    EXPECT_GE(tiles, 8 * lanes) << lanes;
  }
}

TEST(Tiles, AutomaticSizeBoundsTheWorstCaseWorkOfATile) {
  JobRequest request;
  request.preset = "full";
  request.width = 4096;
  request.height = 4096;
  request.max_iter = 100000;
  const JobSpec spec = resolve_job(request);
  const std::int64_t tile = auto_tile_pixels(spec, 2);
  EXPECT_LE(tile * static_cast<std::int64_t>(spec.max_iter), std::int64_t{1} << 25);
  EXPECT_GE(tile, 1);
}

TEST(Checksums, SumAndHashChangeWithAnyCount) {
  std::vector<std::uint32_t> counts = {1, 2, 3, 4};
  const Checksum a = checksum(counts);
  EXPECT_EQ(a.sum, 10U);
  std::swap(counts[0], counts[1]);
  const Checksum b = checksum(counts);
  EXPECT_EQ(b.sum, 10U);
  EXPECT_NE(a.hash, b.hash);  // order matters
  EXPECT_EQ(a.hash_hex().size(), 16U);
  EXPECT_EQ(checksum({}).sum, 0U);
}

// The hash is FNV-1a over the counts' little-endian bytes, whatever their size (the fast paths
// for counts under 256 and 65536 give the same bits as the byte loop).
TEST(Checksums, TheHashIsFnv1aOverTheCountsLittleEndianBytes) {
  std::mt19937 random(7);
  std::vector<std::uint32_t> counts;
  for (const std::uint32_t limit : {0xffU, 0xffffU, 0xffffffffU}) {
    std::uniform_int_distribution<std::uint32_t> below(0, limit);
    for (int i = 0; i < 1000; ++i) counts.push_back(below(random));
  }
  counts.insert(counts.end(), {0U, 255U, 256U, 65535U, 65536U, 0xffffffffU});
  std::shuffle(counts.begin(), counts.end(), random);
  std::vector<unsigned char> bytes;
  for (const std::uint32_t count : counts) {
    for (int shift = 0; shift < 32; shift += 8) {
      bytes.push_back(static_cast<unsigned char>(count >> shift));
    }
  }
  EXPECT_EQ(checksum(counts).hash, fnv1a_64(bytes));
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{17}}) {
    EXPECT_EQ(checksum(std::span(counts).first(n)).hash, fnv1a_64(std::span(bytes).first(4 * n)))
        << n;
  }
}

// One pass gives the checksum and the iterations the counts stand for, as the two apart would.
TEST(Checksums, TheSummaryIsTheChecksumAndEachCountsIterations) {
  std::mt19937 random(11);
  std::uniform_int_distribution<std::uint32_t> below(0, 70000);
  std::vector<std::uint32_t> counts(5000);
  for (std::uint32_t& count : counts) count = below(random);
  counts.insert(counts.end(), {0U, 999U, 1000U, 1001U, 0xffffffffU});
  for (const std::uint32_t max_iter : {0U, 1U, 1000U, 65536U, 0xffffffffU}) {
    std::uint64_t iterations = 0;
    for (const std::uint32_t count : counts) iterations += iterations_of(count, max_iter);
    const CountsSummary summary = summarize_counts(counts, max_iter);
    EXPECT_EQ(summary.checksum, checksum(counts)) << max_iter;
    EXPECT_EQ(summary.effective_iterations, iterations) << max_iter;
  }
  EXPECT_EQ(summarize_counts({}, 1000).effective_iterations, 0U);
}

// Counts of their own start as zeros, of any size (their memory comes zeroed from calloc).
TEST(Checksums, NewCountsAreZeros) {
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{1} << 20}) {
    const Counts counts(size);
    EXPECT_EQ(counts.size(), size);
    EXPECT_TRUE(std::all_of(counts.begin(), counts.end(), [](std::uint32_t c) { return c == 0; }))
        << size;
    EXPECT_NE(counts.data(), nullptr);
  }
}

std::uint64_t fnv_of(std::string_view text) {
  return fnv1a_64({reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

// The published FNV-1a 64 test vectors, and the checksum's hash equal to FNV-1a 64 of the counts'
// little-endian bytes.
TEST(Checksums, HashIsFnv1a64OfTheCountsLittleEndianBytes) {
  EXPECT_EQ(fnv_of(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv_of("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv_of("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(fnv_of("chongo was here!\n"), 0x46810940eff5f915ULL);
  EXPECT_EQ(checksum({}).hash, 0xcbf29ce484222325ULL);
  // "abcd" and "foob" as little-endian words: 0x64636261, 0x626f6f66.
  EXPECT_EQ(checksum(std::vector<std::uint32_t>{0x64636261U}).hash, fnv_of("abcd"));
  EXPECT_EQ(checksum(std::vector<std::uint32_t>{0x64636261U, 0x626f6f66U}).hash,
            fnv_of("abcdfoob"));
}

}  // namespace
}  // namespace hetero

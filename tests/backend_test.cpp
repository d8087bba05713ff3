// The behaviours every backend must show, written once and run per registered backend; a
// backend that cannot run here is skipped with its reason. Every backend, serial included, is
// checked against references that share no code with hetero: the plain loop of test_support.hpp
// and the seed preset's known sum and hash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace hetero {
namespace {

class BackendTest : public test::OnEachNode {
 protected:
  const std::string& backend() const { return node(); }
};

TEST_P(BackendTest, SeedPresetGivesTheKnownSumAndHash) {
  const RunResult result = test::run_on({backend()}, resolve_job(JobRequest{}));
  EXPECT_EQ(result.report.checksum.sum, test::kSeedSum);
  EXPECT_EQ(result.report.checksum.hash_hex(), test::kSeedHash);
  EXPECT_EQ(result.report.checksum, checksum(result.counts));
}

TEST_P(BackendTest, MatchesThePlainLoopInEveryPrecisionAndMode) {
  for (const Precision precision : {Precision::fp64, Precision::fp32}) {
    for (const Mode mode : {Mode::exact, Mode::fma}) {
      const JobSpec spec = test::region_job({-2.0, 0.6, -1.2, 1.2}, 97, 61, 300, precision, mode);
      EXPECT_EQ(test::run_on({backend()}, spec).counts, test::reference_counts(spec))
          << to_string(precision) << " " << to_string(mode);
    }
  }
}

TEST_P(BackendTest, MatchesThePlainLoopOnRandomRegionsAndShapes) {
  std::mt19937_64 random(20130315);
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
      {1, 1}, {2, 3}, {31, 1}, {1, 29}, {17, 13}, {64, 5}, {3, 70}, {45, 45}};
  for (const auto& [width, height] : shapes) {
    std::uniform_real_distribution<double> centre_x(-2.0, 0.5), centre_y(-1.2, 1.2);
    std::uniform_real_distribution<double> log_scale(-12.0, 0.5);
    std::uniform_int_distribution<int> iterations(1, 700), coin(0, 1);
    const double half = std::pow(10.0, log_scale(random)) / 2;
    const double cx = centre_x(random), cy = centre_y(random);
    const Precision precision = coin(random) == 0 ? Precision::fp64 : Precision::fp32;
    const Mode mode = coin(random) == 0 ? Mode::exact : Mode::fma;
    const JobSpec spec = test::region_job({cx - half, cx + half, cy - half, cy + half}, width,
                                          height, iterations(random), precision, mode);
    EXPECT_EQ(test::run_on({backend()}, spec).counts, test::reference_counts(spec))
        << width << "x" << height << " at " << cx << "," << cy << " +-" << half;
  }
}

TEST_P(BackendTest, MatchesThePlainLoopUnderEveryPolicyAndTileSize) {
  JobRequest request;
  request.preset = "full";
  request.width = 75;
  request.height = 41;
  request.max_iter = 250;
  const JobSpec spec = resolve_job(request);
  const std::vector<std::uint32_t> reference = test::reference_counts(spec);
  for (const std::string_view policy_name : policy_names()) {
    for (const std::int64_t tile : {std::int64_t{0}, std::int64_t{1}, std::int64_t{7},
                                    std::int64_t{75}, std::int64_t{1000}, spec.pixels()}) {
      const RunResult result = test::run_on({backend()}, spec, parse_policy(policy_name), tile);
      EXPECT_EQ(result.counts, reference) << policy_name << " tile " << tile;
    }
  }
}

TEST_P(BackendTest, TraceAccountsForEveryTileExactlyOnce) {
  JobRequest request;
  request.width = 123;
  request.height = 77;
  const JobSpec spec = resolve_job(request);
  for (const std::string_view policy_name : policy_names()) {
    const RunResult result = test::run_on({backend()}, spec, parse_policy(policy_name), 97);
    std::multiset<std::int64_t> seen;
    std::int64_t pixels = 0;
    std::uint64_t iterations = 0;
    for (const TraceEvent& event : result.trace.events) {
      if (event.kind != EventKind::compute) continue;
      seen.insert(event.tile);
      pixels += event.pixels;
      iterations += event.iterations;
      EXPECT_LE(event.begin_ns, event.end_ns);
      EXPECT_LE(event.end_ns, result.trace.wall_ns);
    }
    const auto tiles = result.report.tiles;
    ASSERT_EQ(static_cast<std::int64_t>(seen.size()), tiles) << policy_name;
    for (std::int64_t t = 0; t < tiles; ++t) EXPECT_EQ(seen.count(t), 1U) << "tile " << t;
    EXPECT_EQ(pixels, spec.pixels());
    std::uint64_t expected_iterations = 0;
    for (const std::uint32_t count : result.counts) {
      expected_iterations += iterations_of(count, spec.max_iter);
    }
    EXPECT_EQ(iterations, result.report.iterations);
    EXPECT_EQ(result.report.effective_iterations, expected_iterations);
    // The simd node's default kernel stops at a repeating state: it performs fewer iterations
    // than the counts stand for, never more. Every other node performs them all.
    if (NodeRegistry::builtin().describe(backend()).tile_kernel == "simd-cycles") {
      EXPECT_LE(result.report.iterations, expected_iterations);
    } else {
      EXPECT_EQ(result.report.iterations, expected_iterations);
    }
  }
}

TEST_P(BackendTest, ReportDescribesTheNode) {
  JobRequest request;
  request.width = 40;
  request.height = 30;
  const RunResult result = test::run_on({backend()}, resolve_job(request));
  ASSERT_EQ(result.report.nodes.size(), 1U);
  const NodeReport& node = result.report.nodes.front();
  const std::string name(split_node_entry(backend()).name);  // thrust:omp is a thrust node
  EXPECT_EQ(node.name, name);
  EXPECT_EQ(node.tiles, result.report.tiles);
  EXPECT_GT(node.busy_s, 0.0);
  EXPECT_GT(result.report.wall_s, 0.0);
  EXPECT_FALSE(node.device.empty());
  const auto json = nlohmann::json::parse(to_json(result.report));
  EXPECT_EQ(json["checksum"]["sum"].get<std::uint64_t>(), result.report.checksum.sum);
  EXPECT_EQ(json["nodes"][0]["name"].get<std::string>(), name);
}

// The references themselves: the plain loop reproduces the seed's known values, so it can stand
// as the reference for every backend.
TEST(Reference, PlainLoopGivesTheSeedsKnownSumAndHash) {
  const Checksum seed = checksum(test::reference_counts(resolve_job(JobRequest{})));
  EXPECT_EQ(seed.sum, test::kSeedSum);
  EXPECT_EQ(seed.hash_hex(), test::kSeedHash);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::ValuesIn(test::backends_and_systems()),
                         test::node_test_name);

}  // namespace
}  // namespace hetero

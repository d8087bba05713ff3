// The thrust node on Thrust's OpenMP system (thrust:omp), which runs without a GPU: it is listed
// beside the GPU systems, counts the work of its kernels as they run, runs a user kernel's
// Thrust implementation for the OpenMP system on memory of its own, refuses a kernel without
// one in one line, and measures its link once. (The pipeline's own behaviours run on it in
// cuda_test.cpp's DeviceNodeTest, device_memory_test.cpp and backend_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "hetero/hetero.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

constexpr std::string_view kOmp = "thrust:omp";

class ThrustOmp : public ::testing::Test {
 protected:
  void SetUp() override {
    const NodeInfo info = NodeRegistry::builtin().describe(kOmp);
    if (!info.available) GTEST_SKIP() << "thrust:omp is unavailable: " << info.reason;
  }
};

TEST_F(ThrustOmp, IsListedBesideTheGpuSystems) {
  const Backend* thrust = NodeRegistry::builtin().find("thrust");
  ASSERT_NE(thrust, nullptr);
  const std::vector<NodeInfo> systems = thrust->enumerate();
  const auto omp = std::find_if(systems.begin(), systems.end(), [](const NodeInfo& info) {
    return info.device.find("OpenMP system") != std::string::npos;
  });
  ASSERT_NE(omp, systems.end());
  EXPECT_TRUE(omp->available);
  EXPECT_EQ(omp->name, "thrust");
  EXPECT_EQ(omp->kind, NodeKind::device);
  EXPECT_EQ(omp->resource, "host-cpu") << "it shares the host's cores with the host nodes";
  EXPECT_NE(omp->device.find("thrust:omp"), std::string::npos) << omp->device;
  if (!NodeRegistry::builtin().describe("thrust").available) {
    EXPECT_NE(NodeRegistry::builtin().describe("thrust").reason.find("thrust:omp"),
              std::string::npos)
        << "without a GPU the reason points to the system that runs here";
  }
}

TEST_F(ThrustOmp, CountsTheIterationsOfEveryTileAsItRuns) {
  const JobSpec spec = test::region_job({-2.1, 0.7, -1.3, 1.1}, 257, 131, 300);
  // Tiles of a full wave each: every launch is one tile, whose kernel counts its iterations.
  const std::int64_t wave = NodeRegistry::builtin().create(kOmp)->full_wave(
      *mandelbrot_kernel<double>(Mode::exact).definition());
  ASSERT_GT(wave, 0);
  const RunResult result = test::run_on({std::string(kOmp)}, spec, Policy::dynamic, wave);
  EXPECT_EQ(result.counts, test::reference_counts(spec));
  std::uint64_t counted = 0;
  int computes = 0;
  for (const TraceEvent& event : result.trace.events) {
    if (event.kind != EventKind::compute) continue;
    ++computes;
    EXPECT_TRUE(event.counted) << "tile " << event.tile << " was counted after the run";
    std::uint64_t expected = 0;
    for (std::int64_t p = event.first; p < event.first + event.pixels; ++p) {
      expected += iterations_of(result.counts[static_cast<std::size_t>(p)], spec.max_iter);
    }
    EXPECT_EQ(event.iterations, expected) << "tile " << event.tile;
    counted += event.iterations;
  }
  EXPECT_EQ(computes, result.report.tiles);
  EXPECT_EQ(counted, result.report.iterations);
  EXPECT_EQ(result.report.iterations, result.report.effective_iterations);
}

TEST_F(ThrustOmp, AdjacentTilesSmallerThanAWaveRunAsOneLaunch) {
  std::vector<std::int64_t> launched;
  const auto fill = Kernel<Tile1D, View<std::int64_t>>("fill_omp")
                        .thrust_omp([&launched](Tile1D range, View<std::int64_t> out) {
                          launched.push_back(range.end - range.begin);
                          for (std::int64_t i = range.begin; i < range.end; ++i) out[i] = i * 3;
                        });
  const std::int64_t wave = NodeRegistry::builtin().create(kOmp)->full_wave(*fill.definition());
  const std::int64_t tile = wave / 5 + 1, elements = 20 * wave + 3;
  std::vector<std::int64_t> out(static_cast<std::size_t>(elements), -1);
  for (const Policy policy : {Policy::dynamic, Policy::static_split}) {
    launched.clear();
    RuntimeOptions options;
    options.nodes = {std::string(kOmp)};
    Runtime runtime(options);
    LaunchOptions launch;
    launch.policy = policy;
    launch.tile = tile;
    const LaunchResult result = runtime.run(fill, Grid1D{elements}, write(out), launch);
    for (std::int64_t i = 0; i < elements; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], i * 3);
    // Every launch but the last holds a wave at least; every tile is traced once, computed and
    // copied back on its own.
    ASSERT_FALSE(launched.empty());
    for (std::size_t k = 0; k + 1 < launched.size(); ++k) EXPECT_GE(launched[k], wave) << k;
    EXPECT_LT(launched.size(), static_cast<std::size_t>((elements + tile - 1) / tile));
    std::map<std::int64_t, int> computed, copied;
    for (const TraceEvent& event : result.trace.events) {
      if (event.kind == EventKind::compute) ++computed[event.tile];
      if (event.kind == EventKind::copy_to_host) ++copied[event.tile];
    }
    EXPECT_EQ(static_cast<std::int64_t>(computed.size()), (elements + tile - 1) / tile);
    for (const auto& [index, times] : computed) EXPECT_EQ(times, 1) << "tile " << index;
    EXPECT_EQ(copied, computed);
  }
}

TEST_F(ThrustOmp, RunsAUserKernelsOpenMPImplementationOnItsOwnMemory) {
  std::vector<const float*> seen;
  const auto square = Kernel<Tile1D, View<const float>, View<float>>("square_omp")
                          .thrust_omp([&seen](Tile1D tile, View<const float> in, View<float> out) {
                            seen.push_back(in.data());
                            for (std::int64_t i = tile.begin; i < tile.end; ++i) {
                              out[i] = in[i] * in[i];
                            }
                          });
  std::vector<float> in(10000), out(in.size());
  std::iota(in.begin(), in.end(), 0.0F);
  RuntimeOptions options;
  options.nodes = {std::string(kOmp)};
  Runtime runtime(options);
  const LaunchResult result = runtime.run(square, Grid1D{10000}, read(in), write(out));
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], in[i] * in[i]) << i;
  ASSERT_FALSE(seen.empty());
  for (const float* data : seen) EXPECT_NE(data, in.data()) << "ran on the host's array";
  ASSERT_EQ(result.report.nodes.size(), 1U);
  EXPECT_EQ(result.report.nodes[0].bytes_to_device, in.size() * sizeof(float));
  EXPECT_EQ(result.report.nodes[0].bytes_to_host, out.size() * sizeof(float));
}

TEST_F(ThrustOmp, AKernelWithoutAnOpenMPImplementationIsAOneLineError) {
  const auto host_only =
      Kernel<Tile1D, View<float>>("host_only_omp").host([](Tile1D tile, View<float> out) {
        for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = 1;
      });
  std::vector<float> out(100);
  RuntimeOptions options;
  options.nodes = {std::string(kOmp)};
  Runtime runtime(options);
  test::expect_one_line_error([&] { runtime.run(host_only, Grid1D{100}, write(out)); },
                              {"thrust:omp", "kernel 'host_only_omp'", "OpenMP"});
}

TEST_F(ThrustOmp, ItsLinkIsMeasuredOnceThenReadFromTheCache) {
  const test::ScopedCacheHome home;
  const Link probed = NodeRegistry::builtin().find("thrust")->probe([] {
    NodeOptions options;
    options.device = "omp";
    return options;
  }());
  EXPECT_EQ(probed.source, "probe");
  EXPECT_FALSE(probed.zero_copy);
  EXPECT_GT(probed.to_device_bytes_per_s, 1e8);
  EXPECT_GT(probed.to_host_bytes_per_s, 1e8);
  EXPECT_EQ(NodeRegistry::builtin().describe(kOmp).link.source, "cache");
  EXPECT_EQ(NodeRegistry::builtin().create(kOmp)->info().link.to_host_bytes_per_s,
            probed.to_host_bytes_per_s);
}

}  // namespace
}  // namespace hetero

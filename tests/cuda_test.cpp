// Tests specific to the CUDA device nodes (cuda and thrust): device enumeration and selection,
// traced copies with their exact bytes, device timestamps on the trace clock, the link probe,
// and the WorkSource contract. Each skips with the driver's reason where no GPU is usable; the
// pipeline's tests run on Thrust's OpenMP system (thrust:omp) everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hetero/backend/dispatcher.hpp"
#include "nodes/cuda/device_probe.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

class CudaDeviceTest : public test::OnEachNode {
 protected:
  void SetUp() override {
    backend_ = NodeRegistry::builtin().find(GetParam());
    ASSERT_NE(backend_, nullptr) << GetParam() << " is not registered";
    OnEachNode::SetUp();
  }
  const std::string& name() const { return GetParam(); }
  const Backend& backend() const { return *backend_; }

 private:
  const Backend* backend_ = nullptr;
};

// The behaviours of the shared device pipeline on every device system of the cuda and thrust
// nodes, Thrust's OpenMP system (thrust:omp) included: it runs wherever hetero is tested.
class DeviceNodeTest : public CudaDeviceTest {};

JobSpec odd_job(Precision precision, Mode mode) {
  return test::region_job({-2.1, 0.7, -1.3, 1.1}, 257, 131, 400, precision, mode);
}

TEST_P(CudaDeviceTest, EnumeratesEveryDeviceWithItsProperties) {
  ASSERT_TRUE(backend().enumerate) << name() << " has no enumerate()";
  const std::vector<NodeInfo> devices = backend().enumerate();
  ASSERT_FALSE(devices.empty());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const NodeInfo& info = devices[i];
    EXPECT_EQ(info.name, name());
    EXPECT_EQ(info.kind, NodeKind::device);
    EXPECT_TRUE(info.available) << info.reason;
    EXPECT_NE(info.device.find("device " + std::to_string(i) + ","), std::string::npos)
        << info.device;
    EXPECT_NE(info.device.find(" SMs, "), std::string::npos) << info.device;
    EXPECT_NE(info.device.find("compute capability "), std::string::npos) << info.device;
    EXPECT_EQ(info.resource.rfind("gpu:", 0), 0U) << info.resource;
    EXPECT_FALSE(info.link.zero_copy);
  }
  // The first device is the default one.
  EXPECT_EQ(NodeRegistry::builtin().describe(name()).device, devices.front().device);
}

TEST_P(CudaDeviceTest, DeviceOptionSelectsByIndexAndRejectsOthers) {
  const std::size_t count = backend().enumerate().size();
  for (std::size_t i = 0; i < count; ++i) {
    NodeOptions options;
    options.device = std::to_string(i);
    const NodeInfo info = NodeRegistry::builtin().describe(name(), options);
    EXPECT_TRUE(info.available) << info.reason;
    EXPECT_NE(info.device.find("device " + std::to_string(i) + ","), std::string::npos);
  }
  for (const std::string& bad :
       {std::to_string(count), std::string("-1"), std::string("gpu"), std::string("0x")}) {
    NodeOptions options;
    options.device = bad;
    const NodeInfo info = NodeRegistry::builtin().describe(name(), options);
    EXPECT_FALSE(info.available) << "--device " << bad;
    EXPECT_NE(info.reason.find("--device '" + bad + "'"), std::string::npos) << info.reason;
    EXPECT_THROW(NodeRegistry::builtin().create(name(), options), UsageError) << bad;
  }
}

TEST_P(DeviceNodeTest, CopiesAreTracedWithTheirExactBytes) {
  for (const Precision precision : {Precision::fp32, Precision::fp64}) {
    const JobSpec spec = odd_job(precision, Mode::exact);
    const std::uint64_t real_bytes = precision == Precision::fp64 ? 8 : 4;
    for (const Policy policy : {Policy::static_split, Policy::dynamic}) {
      const std::int64_t tile_pixels = 1000;  // not a multiple of the width: ragged tiles
      const RunResult result = test::run_on({name()}, spec, policy, tile_pixels);
      const std::vector<Tile> tiles = make_tiles(spec.pixels(), tile_pixels);
      std::uint64_t to_device = 0, to_host = 0;
      int axis_copies = 0;
      std::map<std::int64_t, std::uint64_t> bytes_of_tile;
      for (const TraceEvent& event : result.trace.events) {
        if (event.kind == EventKind::copy_to_device) {
          ++axis_copies;
          to_device += event.bytes;
        } else if (event.kind == EventKind::copy_to_host) {
          to_host += event.bytes;
          EXPECT_EQ(bytes_of_tile.count(event.tile), 0U) << "tile " << event.tile << " twice";
          bytes_of_tile[event.tile] = event.bytes;
        }
      }
      EXPECT_EQ(axis_copies, 2) << "the axes cross the link once per job";
      EXPECT_EQ(to_device, (static_cast<std::uint64_t>(spec.width) + spec.height) * real_bytes);
      EXPECT_EQ(to_host, static_cast<std::uint64_t>(spec.pixels()) * 4);
      ASSERT_EQ(bytes_of_tile.size(), tiles.size());
      for (const Tile& tile : tiles) {
        EXPECT_EQ(bytes_of_tile[tile.index], static_cast<std::uint64_t>(tile.size()) * 4);
      }
      ASSERT_EQ(result.report.nodes.size(), 1U);
      EXPECT_EQ(result.report.nodes[0].bytes_to_device, to_device);
      EXPECT_EQ(result.report.nodes[0].bytes_to_host, to_host);
      EXPECT_GT(result.report.nodes[0].copy_gbps, 0.0);
      // The device held the axes and at least one tile's counts at once.
      EXPECT_GE(result.report.nodes[0].peak_device_bytes,
                to_device + static_cast<std::uint64_t>(tile_pixels) * 4);
      EXPECT_EQ(result.counts, test::reference_counts(spec));
    }
  }
}

TEST_P(DeviceNodeTest, DeviceTimestampsLieOnTheTraceClockInOrder) {
  const JobSpec spec = odd_job(Precision::fp32, Mode::fma);
  const RunResult result = test::run_on({name()}, spec, Policy::dynamic, 2048);
  std::map<std::int32_t, std::vector<TraceEvent>> lanes;
  std::map<std::int64_t, TraceEvent> compute_of, copy_of;
  for (const TraceEvent& event : result.trace.events) {
    EXPECT_GE(event.begin_ns, 0);
    EXPECT_LE(event.begin_ns, event.end_ns);
    EXPECT_LE(event.end_ns, result.trace.wall_ns);
    lanes[event.lane].push_back(event);
    if (event.kind == EventKind::compute) compute_of[event.tile] = event;
    if (event.kind == EventKind::copy_to_host) copy_of[event.tile] = event;
  }
  EXPECT_LE(static_cast<int>(lanes.size()), NodeRegistry::builtin().create(name())->lanes());
  for (auto& [lane, events] : lanes) {
    std::sort(events.begin(), events.end(),
              [](const TraceEvent& a, const TraceEvent& b) { return a.begin_ns < b.begin_ns; });
    for (std::size_t i = 1; i < events.size(); ++i) {
      EXPECT_LE(events[i - 1].end_ns, events[i].begin_ns) << "lane " << lane << " overlaps";
    }
  }
  ASSERT_EQ(compute_of.size(), copy_of.size());
  for (const auto& [tile, compute] : compute_of) {
    EXPECT_LE(compute.end_ns, copy_of[tile].begin_ns) << "tile " << tile << " copied too early";
  }
}

TEST_P(CudaDeviceTest, LinkIsProbedOnceThenReadFromTheCache) {
  const test::ScopedCacheHome home;
  const auto plausible = [](const Link& link, const std::string& source) {
    EXPECT_FALSE(link.zero_copy);
    EXPECT_EQ(link.source, source);
    for (const double rate : {link.to_device_bytes_per_s, link.to_host_bytes_per_s}) {
      EXPECT_GT(rate, 1e8);   // more than 0.1 GB/s
      EXPECT_LT(rate, 1e13);  // less than 10 TB/s
    }
    for (const double latency : {link.to_device_latency_s, link.to_host_latency_s}) {
      EXPECT_GT(latency, 0.0);
      EXPECT_LT(latency, 0.1);
    }
  };
  EXPECT_EQ(NodeRegistry::builtin().describe(name()).link.source, "not measured")
      << "describe() reported a link no probe measured";
  ASSERT_TRUE(backend().probe) << name() << " has no probe()";
  const Link probed = backend().probe(NodeOptions{});
  plausible(probed, "probe");

  // The entry is the GPU's, whichever of cuda and thrust measured it.
  const LinkIdentity identity = nodes::cuda::link_identity(0);
  EXPECT_EQ(identity.backend, "cuda");
  const auto json = nlohmann::json::parse(test::read_text(home.links_file()));
  ASSERT_TRUE(json["links"].contains(identity.key())) << json.dump(1);
  EXPECT_FALSE(json["links"][identity.key()]["to_host"]["pageable_bytes_per_s"].empty());

  // Later nodes, and describe(), read the figures back without measuring.
  const Link cached = NodeRegistry::builtin().create(name())->info().link;
  plausible(cached, "cache");
  EXPECT_EQ(cached.to_host_bytes_per_s, probed.to_host_bytes_per_s);
  plausible(NodeRegistry::builtin().describe(name()).link, "cache");
}

TEST_P(CudaDeviceTest, MemoryIsCappedBelowTheDevicesMemoryUnlessGiven) {
  const auto node = NodeRegistry::builtin().create(name());
  ASSERT_NE(node->memory_space(), nullptr);
  const std::uint64_t cap = node->memory_space()->limit();
  // 90% of the memory free when the node was created: some, and at most 90% of the device's.
  EXPECT_GT(cap, 0U);
  const auto& devices = nodes::cuda::device_list().devices;
  ASSERT_FALSE(devices.empty());
  EXPECT_LE(cap, static_cast<std::uint64_t>(static_cast<double>(devices[0].memory_bytes) * 0.9));
  NodeOptions options;
  options.memory.bytes = 12345;
  EXPECT_EQ(NodeRegistry::builtin().create(name(), options)->memory_space()->limit(), 12345U);
}

TEST_P(DeviceNodeTest, TileIsCompletedOnlyOnceItsCountsAreOnTheHost) {
  for (const bool self_scheduling : {false, true}) {
    const JobSpec spec = odd_job(Precision::fp64, Mode::exact);
    const Job job(spec);
    const std::vector<std::uint32_t> reference = test::reference_counts(spec);
    std::vector<std::uint32_t> counts(reference.size(), std::numeric_limits<std::uint32_t>::max());
    const std::vector<Tile> tiles = make_tiles(spec.pixels(), 777);
    test::CheckedWork work(tiles, self_scheduling, counts, reference,
                           std::numeric_limits<std::size_t>::max());
    TraceClock clock;
    NodeTrace trace(&clock, 0);
    const auto node = NodeRegistry::builtin().create(name());
    test::run_job_on(*node, job, work, counts, trace);
    EXPECT_EQ(work.completed_count(), tiles.size()) << "self-scheduling " << self_scheduling;
    EXPECT_EQ(work.wrong_tiles(), 0U) << "self-scheduling " << self_scheduling;
    for (const int n : work.completions()) EXPECT_EQ(n, 1);
    EXPECT_EQ(counts, reference);
  }
}

TEST_P(DeviceNodeTest, StopsTakingTilesOnceAStopIsRequested) {
  const auto node = NodeRegistry::builtin().create(name());
  constexpr std::int64_t kTile = 500;
  constexpr std::size_t kStopAfter = 3;
  // The tiles in hand when the stop came are finished (a launch per lane, and the one taken
  // while the oldest finished, each of as many tiles as fill a wave of the device); no more are
  // taken. The job is larger than that even on a GPU, whose wave is a million pixels or more
  // (with few iterations, so that its reference stays quick to compute).
  const std::int64_t wave = node->full_wave(*mandelbrot_kernel<float>(Mode::exact).definition());
  const auto per_launch =
      static_cast<std::size_t>(std::max<std::int64_t>(1, (wave + kTile - 1) / kTile + 1));
  const std::size_t most_in_hand =
      kStopAfter + (static_cast<std::size_t>(node->lanes()) + 1) * per_launch;
  constexpr std::int64_t kWidth = 1024;
  const auto pixels = static_cast<std::int64_t>(most_in_hand + 20) * kTile;
  const JobSpec spec =
      test::region_job({-2.1, 0.7, -1.3, 1.1}, kWidth, (pixels + kWidth - 1) / kWidth, 60,
                       Precision::fp32, Mode::exact);
  const std::vector<std::uint32_t> reference = test::reference_counts(spec);
  const std::vector<Tile> tiles = make_tiles(spec.pixels(), kTile);
  ASSERT_GT(tiles.size(), most_in_hand + 10);
  for (const bool self_scheduling : {false, true}) {
    std::vector<std::uint32_t> counts(reference.size(), 0);
    test::CheckedWork work(tiles, self_scheduling, counts, reference, kStopAfter);
    TraceClock clock;
    NodeTrace trace(&clock, 0);
    test::run_job_on(*node, Job(spec), work, counts, trace);
    EXPECT_GE(work.completed_count(), kStopAfter);
    EXPECT_LE(work.completed_count(), most_in_hand);
    EXPECT_LT(work.completed_count(), tiles.size());
    EXPECT_EQ(work.wrong_tiles(), 0U);
  }
}

// A wave is the device's resident threads times the elements each thread computes in the
// implementation the node runs: on the cuda node, the refill kernel's pixels per thread for the
// Mandelbrot kernel; one for a kernel that sets nothing, and on nodes that run other code.
TEST_P(DeviceNodeTest, AWaveCountsTheElementsEachCudaThreadComputes) {
  const auto node = NodeRegistry::builtin().create(name());
  const auto plain = Kernel<Tile1D, View<float>>("one_element_per_thread");
  const auto mandelbrot = mandelbrot_kernel<float>(Mode::exact).definition();
  const std::int64_t threads = node->full_wave(*plain.definition());
  EXPECT_GT(threads, 0);
  EXPECT_EQ(node->full_wave(*mandelbrot),
            name() == "cuda" ? threads * mandelbrot->cuda_elements_per_thread : threads);
}

TEST_P(DeviceNodeTest, OneNodeRunsJobsOfGrowingTileSizesInTurn) {
  const auto node_list = [&] {
    std::vector<std::unique_ptr<Node>> nodes;
    nodes.push_back(NodeRegistry::builtin().create(name()));
    return nodes;
  };
  Dispatcher dispatcher(node_list());
  for (const std::int64_t tile : {std::int64_t{64}, std::int64_t{4096}, std::int64_t{0}}) {
    for (const Precision precision : {Precision::fp32, Precision::fp64}) {
      const JobSpec spec = odd_job(precision, Mode::fma);
      RunOptions options;
      options.tile_pixels = tile;
      EXPECT_EQ(dispatcher.run(Job(spec), options).counts, test::reference_counts(spec))
          << "tile " << tile << " " << to_string(precision);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DeviceNodes, CudaDeviceTest, ::testing::Values("cuda", "thrust"),
                         test::node_test_name);
INSTANTIATE_TEST_SUITE_P(DeviceNodes, DeviceNodeTest,
                         ::testing::Values("cuda", "thrust", "thrust:omp"), test::node_test_name);

}  // namespace
}  // namespace hetero

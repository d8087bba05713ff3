// Tests of the mpi node that need an MPI job of 3 ranks (run by mpirun from tests/mpi): its
// links, its trace on rank 0's clock, a stop, a failure whose tiles go to another node, user
// kernels (beside rank 0's own node, and one the ranks were not given), and registered arrays
// kept on the ranks, whose halo rows go rank to rank.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "hetero/heat.hpp"
#include "nodes/mpi/runtime.hpp"
#include "test_kernels.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

class MpiNodeUnderMpirun : public ::testing::Test {
 protected:
  void SetUp() override {
    const NodeInfo info = NodeRegistry::builtin().describe("mpi");
    ASSERT_TRUE(info.available) << info.reason;
  }
  static int ranks() { return nodes::mpi::Runtime::instance().size(); }
};

TEST_F(MpiNodeUnderMpirun, MeasuresALinkAndAClockOffsetPerRank) {
  const NodeInfo info = NodeRegistry::builtin().describe("mpi");
  EXPECT_EQ(info.kind, NodeKind::remote);
  EXPECT_EQ(info.concurrency, ranks() - 1);
  EXPECT_FALSE(info.link.zero_copy);
  EXPECT_GT(info.link.to_device_latency_s, 0);
  EXPECT_LT(info.link.to_device_latency_s, 0.01);
  EXPECT_GT(info.link.to_device_bytes_per_s, 1e6);
  EXPECT_GT(info.link.to_host_bytes_per_s, 1e6);
  const auto links = nodes::mpi::Runtime::instance().links();
  ASSERT_EQ(static_cast<int>(links.size()), ranks() - 1);
  for (const auto& link : links) {
    EXPECT_FALSE(link.host.empty());
    EXPECT_GT(link.pid, 0);
    // Every rank of this test runs on this machine, whose steady clock they share.
    EXPECT_LT(std::abs(static_cast<double>(link.clock_offset_ns)), 1e6) << "rank " << link.rank;
  }
  const Backend* backend = NodeRegistry::builtin().find("mpi");
  ASSERT_TRUE(backend->enumerate);
  EXPECT_EQ(static_cast<int>(backend->enumerate().size()), ranks() - 1);
}

// Each tile's events on its rank's lane follow cause and effect on rank 0's clock: the order
// leaves, the rank computes, the counts come back.
TEST_F(MpiNodeUnderMpirun, TracesEachTileInOrderOnItsRanksLane) {
  JobRequest request;
  request.width = 200;
  request.height = 150;  // 30 tiles of 1000 pixels
  const RunResult result = test::run_on({"mpi"}, resolve_job(request), Policy::dynamic, 1000);
  struct Steps {
    std::int64_t sent = -1, begin = -1, end = -1, back = -1, received = -1;
    std::uint64_t bytes_back = 0;  // the result header (control) and the counts
  };
  std::map<std::int64_t, Steps> tiles;
  std::map<std::int32_t, int> per_lane;
  for (const TraceEvent& event : result.trace.events) {
    if (event.tile < 0) continue;
    Steps& steps = tiles[event.tile];
    if (event.kind == EventKind::copy_to_device && steps.sent < 0) steps.sent = event.begin_ns;
    if (event.kind == EventKind::compute) {
      steps.begin = event.begin_ns;
      steps.end = event.end_ns;
      ++per_lane[event.lane];
    }
    if (event.kind == EventKind::copy_to_host) {
      if (steps.back < 0) steps.back = event.begin_ns;
      steps.received = std::max(steps.received, event.end_ns);
      steps.bytes_back += event.bytes;
    }
  }
  ASSERT_EQ(static_cast<std::int64_t>(tiles.size()), result.report.tiles);
  for (const auto& [tile, steps] : tiles) {
    SCOPED_TRACE(tile);
    EXPECT_GE(steps.sent, 0);
    EXPECT_LE(steps.sent, steps.begin);
    EXPECT_LE(steps.begin, steps.end);
    EXPECT_LE(steps.end, steps.back);
    EXPECT_LE(steps.back, steps.received);
    EXPECT_LE(steps.received, result.trace.wall_ns);
    EXPECT_EQ(steps.bytes_back, sizeof(nodes::mpi::ResultHeader) + 1000 * sizeof(std::uint32_t));
  }
  EXPECT_EQ(static_cast<int>(per_lane.size()), ranks() - 1) << "every rank computed";
}

TEST_F(MpiNodeUnderMpirun, AStopEndsTheRunAndTheNodeServesTheNextOne) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("mpi"));
  Dispatcher dispatcher(std::move(nodes));
  const Job job(resolve_job(JobRequest{}));
  std::atomic<bool> stop{true};
  RunOptions options;
  options.stop = &stop;
  EXPECT_THROW(dispatcher.run(job, options), Cancelled);
  stop = false;
  EXPECT_EQ(dispatcher.run(job, options).report.checksum.sum, 51214485u);
}

// The node fails after 3 tiles (the dispatcher's test hook): what it had in flight is drained,
// its unfinished tiles run on threads, and the counts are still exact.
TEST_F(MpiNodeUnderMpirun, AFailedRunLosesNoTileAndLeavesTheRanksInStep) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("mpi"));
  NodeOptions one_worker;
  one_worker.workers = 1;
  nodes.push_back(NodeRegistry::builtin().create("threads", one_worker));
  Dispatcher dispatcher(std::move(nodes));
  const Job job(resolve_job(JobRequest{}));
  RunOptions options;
  options.tile_pixels = 2000;
  options.faults.push_back({0, 3});  // the mpi node
  const RunResult failed = dispatcher.run(job, options);
  EXPECT_EQ(failed.report.checksum.sum, 51214485u);
  EXPECT_FALSE(failed.report.nodes[0].failure.empty());
  EXPECT_GT(failed.report.tiles_rerun, 0);
  options.faults.clear();
  const RunResult again = dispatcher.run(job, options);
  EXPECT_EQ(again.report.checksum, failed.report.checksum);
  EXPECT_GT(again.report.nodes[0].tiles, 0);
}

// SAXPY on the ranks and rank 0's threads together, split evenly over their lanes (static):
// both compute their share, and every element equals the plain loop's.
TEST_F(MpiNodeUnderMpirun, KernelRunsOnTheRanksBesideALocalNode) {
  const std::int64_t n = 200003;
  std::vector<float> x(static_cast<std::size_t>(n)), y(x.size()), z(x.size(), -1.0F),
      expected(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = 0.001F * static_cast<float>(i % 997);
    y[i] = 1.0F / static_cast<float>(i + 1);
    expected[i] = 3.25F * x[i] + y[i];
  }
  RuntimeOptions options;
  options.nodes = {"mpi", "threads"};
  options.node_options.workers = 1;
  options.share = true;
  Runtime runtime(options);
  LaunchOptions launch;
  launch.policy = Policy::static_split;
  launch.tile = 1000;
  const LaunchResult result = runtime.run(test::saxpy_kernel(), Grid1D{n}, read_slice(x),
                                          read_slice(y), write(z), 3.25F, launch);
  EXPECT_EQ(z, expected);
  ASSERT_EQ(result.report.nodes.size(), 2U);
  EXPECT_GT(result.report.nodes[0].tiles, 0) << "the ranks computed";
  EXPECT_GT(result.report.nodes[1].tiles, 0) << "rank 0's threads computed";
  EXPECT_EQ(result.report.nodes[0].tiles + result.report.nodes[1].tiles, result.report.tiles);
}

// A kernel the ranks were not given in Runtime::serve: a one-line error that names the kernel
// and the call, or with fallback, the other node runs it.
TEST_F(MpiNodeUnderMpirun, AKernelTheRanksDoNotKnowIsAnErrorOrFallsBack) {
  const auto unknown = Kernel<Tile1D, View<int>>("not_served").host([](Tile1D tile, View<int> out) {
    for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = static_cast<int>(2 * i);
  });
  std::vector<int> out(5000);
  RuntimeOptions options;
  options.nodes = {"mpi", "threads"};
  options.share = true;
  Runtime strict(options);
  test::expect_one_line_error(
      [&] { strict.run(unknown, Grid1D{5000}, write(out)); },
      {"node 'mpi'", "kernel 'not_served'", "Runtime::serve", "--fallback"});
  options.fallback = true;
  Runtime lenient(options);
  const LaunchResult result = lenient.run(unknown, Grid1D{5000}, write(out));
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<int>(2 * i));
  EXPECT_EQ(result.report.nodes[0].tiles, 0);
  // The ranks are still in step: the next kernel they know runs on them.
  std::vector<double> a(300, 1.0), b(300, 0.5);
  lenient.run(test::reverse_add_kernel(), Grid1D{300}, read(a), read_write(b), std::int64_t{300});
  EXPECT_EQ(b, std::vector<double>(300, 1.5));
}

HeatResult heat_on(const std::vector<std::string>& nodes, const HeatSpec& spec) {
  RuntimeOptions options;
  options.nodes = nodes;
  options.node_options.workers = 1;
  options.share = true;
  Runtime runtime(options);
  LaunchOptions launch;
  launch.policy = Policy::static_split;
  launch.tile = 4 * spec.width;
  return run_heat(runtime, spec, launch);
}

// Heat on the ranks alone: each rank keeps its band of both fields from step to step. After the
// first step nothing crosses rank 0's link but the tiles' orders and result headers: each band's
// edge row goes straight to the rank of the band beside it. The field is serial's, bit for bit.
TEST_F(MpiNodeUnderMpirun, HeatKeepsItsBandsOnTheRanksAndSendsHaloRowsRankToRank) {
  const HeatSpec spec{.width = 64, .height = 48, .steps = 6};
  const HeatResult serial = heat_on({"serial"}, spec);
  const HeatResult ranks = heat_on({"mpi"}, spec);
  EXPECT_EQ(ranks.field, serial.field);
  EXPECT_EQ(ranks.report.checksum, serial.report.checksum);
  const auto bands = static_cast<std::uint64_t>(MpiNodeUnderMpirun::ranks() - 1);
  const std::uint64_t row = spec.width * sizeof(float);
  ASSERT_EQ(ranks.step_transfers.size(), 6U);
  EXPECT_GT(ranks.step_transfers[0][0].read_miss, 0U) << "step 1 sends the bands";
  for (std::size_t step = 1; step < ranks.step_transfers.size(); ++step) {
    const TransferBytes& link = ranks.step_transfers[step][0];
    EXPECT_EQ(link.read_miss + link.halo + link.eviction, 0U) << "step " << step + 1;
    EXPECT_EQ(link.peer, 2 * (bands - 1) * row) << "step " << step + 1;
  }
}

// Heat on the ranks and rank 0's threads: the threads' halo rows are fetched from the ranks in
// the middle of a run (and theirs sent to the ranks from the host); the field is serial's.
TEST_F(MpiNodeUnderMpirun, HeatOnTheRanksBesideALocalNodeGivesSerialsField) {
  const HeatSpec spec{.width = 64, .height = 48, .steps = 6};
  const HeatResult serial = heat_on({"serial"}, spec);
  const HeatResult mixed = heat_on({"mpi", "threads"}, spec);
  EXPECT_EQ(mixed.field, serial.field);
  ASSERT_EQ(mixed.report.nodes.size(), 2U);
  EXPECT_GT(mixed.report.nodes[0].tiles, 0);
  EXPECT_GT(mixed.report.nodes[1].tiles, 0);
}

// A registered array written on the ranks comes back when the host acquires it, and a second
// run reads what the first left on the ranks without it crossing rank 0's link again.
TEST_F(MpiNodeUnderMpirun, AnArrayWrittenOnTheRanksStaysThereUntilTheHostAcquiresIt) {
  const std::int64_t n = 60000;
  Array<float> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n)),
      z(static_cast<std::size_t>(n));
  {
    auto host = x.acquire_write();
    for (std::int64_t i = 0; i < n; ++i) host.view()[i] = static_cast<float>(i % 101);
  }
  RuntimeOptions options;
  options.nodes = {"mpi"};
  Runtime runtime(options);
  LaunchOptions launch;
  launch.policy = Policy::static_split;
  const LaunchResult first = runtime.run(test::saxpy_kernel(), Grid1D{n}, read_slice(x),
                                         read_slice(x), write(y), 2.0F, launch);
  EXPECT_GT(first.report.nodes[0].transfers.read_miss, 0U);
  const LaunchResult second = runtime.run(test::saxpy_kernel(), Grid1D{n}, read_slice(y),
                                          read_slice(x), write(z), 0.5F, launch);
  EXPECT_EQ(second.report.nodes[0].transfers.read_miss, 0U) << "y and x were on the ranks";
  auto host = z.acquire_read();
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(i % 101);
    const float y_i = 2.0F * v + v;
    ASSERT_EQ(host.view()[i], 0.5F * y_i + v) << "element " << i;
  }
}

}  // namespace
}  // namespace hetero

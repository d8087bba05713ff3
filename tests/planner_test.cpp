// The transfer-aware planner: shares that equalise predicted finish times, a node left out only
// when the makespan without it is no longer, the decision flipping where the link's bandwidth
// makes offloading pay, and data already resident on a device lowering what it must move.
#include <gtest/gtest.h>

#include "core/planner.hpp"
#include "hetero/backend/dispatcher.hpp"
#include "hetero/hetero.hpp"

namespace hetero::detail {
namespace {

NodeCost host_node(double units_per_s) {
  NodeCost node;
  node.name = "host";
  node.seconds_per_unit = 1.0 / units_per_s;
  return node;
}

NodeCost device_node(double units_per_s, double bytes_per_s, double fixed_bytes) {
  NodeCost node;
  node.name = "device";
  node.seconds_per_unit = 1.0 / units_per_s;
  node.bytes_per_s = bytes_per_s;
  node.fixed_bytes = fixed_bytes;
  return node;
}

TEST(Planner, SharesEqualiseThePredictedFinishTimes) {
  const Forecast plan = forecast({host_node(1e9), host_node(3e9)}, 4e9);
  EXPECT_NEAR(plan.shares[0], 0.25, 1e-9);
  EXPECT_NEAR(plan.shares[1], 0.75, 1e-9);
  EXPECT_NEAR(plan.makespan_s, 1.0, 1e-9);
  EXPECT_NEAR(plan.finish_s[0], plan.finish_s[1], 1e-12);
  EXPECT_TRUE(plan.notes.empty());
}

TEST(Planner, ADeviceTakesPartExactlyWhenItsLinkMakesTheRunShorter) {
  // The host alone takes 1 s. The device computes 4x faster but must first receive 1 GB: it
  // helps exactly when that takes less than the host's second, at 1 GB/s.
  const double units = 1e9, fixed = 1e9, crossover = fixed / 1.0;
  const Forecast fast =
      forecast({host_node(1e9), device_node(4e9, 1.02 * crossover, fixed)}, units);
  EXPECT_GT(fast.shares[1], 0);
  EXPECT_LT(fast.makespan_s, 1.0);
  const Forecast slow =
      forecast({host_node(1e9), device_node(4e9, 0.98 * crossover, fixed)}, units);
  EXPECT_EQ(slow.shares[1], 0);
  EXPECT_DOUBLE_EQ(slow.shares[0], 1.0);
  EXPECT_DOUBLE_EQ(slow.makespan_s, 1.0);
  ASSERT_EQ(slow.notes.size(), 1U);
  EXPECT_NE(slow.notes[0].find("left out device"), std::string::npos) << slow.notes[0];
}

TEST(Planner, BytesPerUnitAndLatencyArePricedByTheLink) {
  NodeCost device = device_node(1e12, 1e9, 0);  // computing is free, moving is not
  device.bytes_per_unit = 12;                   // triad: two floats in, one out
  device.copies_per_unit = 1e-6;                // one copy per million units
  device.latency_s = 1e-3;
  const Forecast plan = forecast({device}, 1e9);
  EXPECT_NEAR(plan.makespan_s, 12.0 + 1.0 + 1e-3, 1e-6);
  EXPECT_NEAR(plan.transfer_s[0], 13.0, 1e-6);
}

TEST(Planner, ArraysResidentOnADeviceCostItNothingToMove) {
  if (!NodeRegistry::builtin().describe("opencl").available) GTEST_SKIP() << "no opencl";
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("opencl", {}));
  const void* space = nodes[0]->memory_space();
  const NodeInfo info = nodes[0]->info();
  Dispatcher dispatcher(std::move(nodes));
  const std::int64_t n = 1 << 16;
  Array<float> x(n), y(n);
  const auto copy = Kernel<Tile1D, View<const float>, View<float>>("copy_over")
                        .host([](Tile1D t, View<const float> in, View<float> out) {
                          for (std::int64_t i = t.begin; i < t.end; ++i) out[i] = in[i];
                        })
                        .opencl(R"(__kernel void copy_over(__global const float* in,
                                                            __global float* out) {
                                  out[get_global_id(0)] = in[get_global_id(0)]; })",
                                "copy_over");
  backend::Launch launch;
  launch.kernel = copy.definition();
  launch.width = n;
  launch.arguments = decltype(copy)::bind(read_slice(x), write(y));
  const std::vector<Tile> tiles = make_tiles(n, 4096);
  const auto cost_now = [&] {
    return launch_costs(launch, tiles, {info}, {space}, {1e9}, {true})[0];
  };
  EXPECT_DOUBLE_EQ(cost_now().bytes_per_unit, 4.0) << "x is all on the host";
  dispatcher.launch(launch, RunOptions{});
  EXPECT_DOUBLE_EQ(cost_now().bytes_per_unit, 0.0) << "x is on the device now";
}

}  // namespace
}  // namespace hetero::detail

// The transfer-aware planner: shares that equalise predicted finish times, a node left out only
// when the makespan without it is no longer, the decision flipping where the link's bandwidth
// makes offloading pay, and data already resident on a device lowering what it must move.
#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

// NodeOptions::link replaces a node's link in what it says of itself, described and created,
// while the node still computes: a what-if study's slower or faster link reaches every plan.
TEST(Planner, ALinkGivenInNodeOptionsIsTheLinkThePlansSee) {
  Link link;
  link.zero_copy = false;
  link.to_device_bytes_per_s = link.to_host_bytes_per_s = 1.5e9;
  link.to_device_latency_s = link.to_host_latency_s = 7e-6;
  link.source = "given";
  const NodeOptions options{.workers = 1, .link = link};
  EXPECT_EQ(NodeRegistry::builtin().describe("serial", options).link.to_device_bytes_per_s, 1.5e9);
  EXPECT_TRUE(NodeRegistry::builtin().describe("serial", {}).link.zero_copy);
  RuntimeOptions runtime_options;
  runtime_options.exact_nodes = {{"serial", options}};
  Runtime runtime(runtime_options);
  ASSERT_EQ(runtime.nodes().size(), 1U);
  EXPECT_FALSE(runtime.nodes()[0].link.zero_copy);
  EXPECT_EQ(runtime.nodes()[0].link.to_device_latency_s, 7e-6);
  EXPECT_EQ(runtime.nodes()[0].link.source, "given");
  std::vector<int> out(1000, 0);
  const auto fill = Kernel<Tile1D, View<int>>("fill_with_index").host([](Tile1D tile, View<int> o) {
    for (std::int64_t i = tile.begin; i < tile.end; ++i) o[i] = static_cast<int>(i);
  });
  runtime.run(fill, Grid1D{1000}, write(out));
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<int>(i));
}

TEST(Planner, SharesEqualiseThePredictedFinishTimes) {
  const Forecast plan = forecast({host_node(1e9), host_node(3e9)}, 4e9);
  EXPECT_NEAR(plan.shares[0], 0.25, 1e-9);
  EXPECT_NEAR(plan.shares[1], 0.75, 1e-9);
  EXPECT_NEAR(plan.makespan_s, 1.0, 1e-9);
  EXPECT_NEAR(plan.finish_s[0], plan.finish_s[1], 1e-12);
  EXPECT_TRUE(plan.notes.empty());
}

TEST(Planner, OfNodesOnOneResourceAPlanKeepsOnlyOne) {
  // Alone, the first computes 4e9 units in 2 s and the second in 1 s; splitting would be
  // predicted at 0.67 s, but both occupy the host CPU: the plan gives it to the faster one.
  std::vector<NodeCost> nodes{host_node(2e9), host_node(4e9)};
  nodes[0].name = "threads";
  nodes[1].name = "simd";
  for (NodeCost& node : nodes) node.resource = "host-cpu";
  const Forecast plan = forecast(nodes, 4e9);
  EXPECT_EQ(plan.shares[0], 0);
  EXPECT_NEAR(plan.shares[1], 1.0, 1e-12);
  EXPECT_NEAR(plan.makespan_s, 1.0, 1e-9);
  ASSERT_EQ(plan.notes.size(), 1U);
  EXPECT_NE(plan.notes[0].find("shares host-cpu with simd"), std::string::npos) << plan.notes[0];
  // A node on hardware of its own still takes its share beside them.
  nodes.push_back(device_node(4e9, 0, 0));
  const Forecast with_device = forecast(nodes, 4e9);
  EXPECT_EQ(with_device.shares[0], 0);
  EXPECT_NEAR(with_device.shares[1], 0.5, 1e-9);
  EXPECT_NEAR(with_device.shares[2], 0.5, 1e-9);
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
  // 12 s of bytes, 1000 copies' latency and one more (taking part costs at least one copy),
  // 1 ms of computing.
  EXPECT_NEAR(plan.transfer_s[0], 12.0 + 1.0 + 1e-3, 1e-6);
  EXPECT_NEAR(plan.makespan_s, 12.0 + 1.0 + 1e-3 + 1e-3, 1e-6);
}

// However small a share, a node that takes part pays a copy's latency: a device whose link
// costs more than the whole run on the host gets nothing, however fast it computes.
TEST(Planner, ASliverOfAShareStillPaysACopysLatency) {
  NodeCost device = device_node(1e12, 1e9, 0);
  device.bytes_per_unit = 12;
  device.copies_per_unit = 1e-6;
  device.latency_s = 2.0;
  const Forecast plan = forecast({host_node(1e9), device}, 1e9);  // 1 s on the host alone
  EXPECT_EQ(plan.shares[1], 0);
  EXPECT_DOUBLE_EQ(plan.makespan_s, 1.0);
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

TEST(Planner, UnderAutoAKernelOnNodesSharingTheHostCpuRunsOnOneOnceTheirRatesAreKnown) {
  RuntimeOptions options;
  options.nodes = {"serial", "threads"};
  options.fastest_on_shared = true;
  Runtime runtime(options);
  const std::int64_t n = 1 << 20;
  std::vector<float> x(n, 1.0F), y(n);
  // Enough work per element for every node to be busy long enough to learn its rate: v goes
  // 1, 1.5, 1.75, ... and is exactly 2 long before the end.
  const auto twice = Kernel<Tile1D, View<const float>, View<float>>("towards_two")
                         .host([](Tile1D t, View<const float> in, View<float> out) {
                           for (std::int64_t i = t.begin; i < t.end; ++i) {
                             float v = in[i];
                             for (int k = 0; k < 200; ++k) v = v * 0.5F + 1.0F;
                             out[i] = v;
                           }
                         });
  LaunchOptions automatic;
  automatic.policy = Policy::automatic;
  // The first run learns both rates (shares follow the lanes); the second is planned.
  runtime.run(twice, Grid1D{n}, read_slice(x), write(y), automatic);
  const LaunchResult planned = runtime.run(twice, Grid1D{n}, read_slice(x), write(y), automatic);
  const auto& nodes = planned.report.nodes;
  EXPECT_TRUE((nodes[0].tiles == 0) != (nodes[1].tiles == 0))
      << nodes[0].tiles << " and " << nodes[1].tiles << " tiles";
  EXPECT_TRUE(std::any_of(
      planned.report.notes.begin(), planned.report.notes.end(),
      [](const std::string& note) { return note.find("shares host-cpu") != std::string::npos; }));
  EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](float v) { return v == 2.0F; }));
}

// A device's link is learned from the runs of a kernel: the bytes its copies moved over the
// time they took, with the host's nodes competing for the same memory.
TEST(Planner, ADevicesLinkIsLearnedFromTheKernelsRuns) {
  if (!NodeRegistry::builtin().describe("opencl").available) GTEST_SKIP() << "no opencl";
  ThroughputModel model;
  RuntimeOptions options;
  options.exact_nodes = {{"threads", {}}, {"opencl", {}}};
  options.model = &model;
  Runtime runtime(options);
  const std::int64_t n = std::int64_t{1} << 21;
  std::vector<float> b(static_cast<std::size_t>(n), 1.0F), c(b.size(), 2.0F), a(b.size());
  LaunchOptions halves;
  halves.policy = Policy::static_split;
  halves.shares = {1, 1};
  const LaunchResult run = runtime.run(triad_kernel(), Grid1D{n}, read_slice(b), read_slice(c),
                                       write(a), kTriadScalar, halves);
  const NodeReport& opencl = run.report.nodes[1];
  ASSERT_GE(opencl.bytes_to_device + opencl.bytes_to_host, std::uint64_t{1} << 20);
  const double achieved =
      static_cast<double>(opencl.bytes_to_device + opencl.bytes_to_host) / opencl.transfer_s * 1e-9;
  const auto entries = nlohmann::json::parse(model.to_json())["entries"];
  int links = 0;
  for (const auto& [key, samples] : entries.items()) {
    if (key.size() < 5 || key.substr(key.size() - 5) != "/link") continue;
    ++links;
    EXPECT_NE(key.find("opencl"), std::string::npos) << key;
    EXPECT_DOUBLE_EQ(samples[0].get<double>(), achieved);
  }
  EXPECT_EQ(links, 1) << "only the device's link is learned";
  EXPECT_EQ(a[0], 1.0F + kTriadScalar * 2.0F);
}

// triad on threads and opencl under auto, opencl's link given as 100 MB/s and 50 ms a copy (a
// remote device): with b and c on the host only, offloading would take longer than keeping the
// work home, so the planner leaves opencl out and says so. Once b and c are on the device (a
// run there alone), opencl has nothing to move: its prediction changes, and the plan lets it
// take part.
TEST(Planner, TriadStaysHomeWhileTheLinkMakesOffloadingSlowerUntilItsArraysAreOnTheDevice) {
  if (!NodeRegistry::builtin().describe("opencl").available) GTEST_SKIP() << "no opencl";
  Link slow;
  slow.zero_copy = false;
  slow.to_device_bytes_per_s = slow.to_host_bytes_per_s = 1e8;
  slow.to_device_latency_s = slow.to_host_latency_s = 50e-3;
  slow.source = "given";
  RuntimeOptions options;
  options.exact_nodes = {{"threads", {}}, {"opencl", {.link = slow}}};
  Runtime runtime(options);
  const std::int64_t n = std::int64_t{1} << 22;
  auto arrays = [](std::int64_t size) {
    std::vector<Array<float>> abc;
    for (int k = 0; k < 3; ++k) abc.emplace_back(static_cast<std::size_t>(size));
    for (int k = 0; k < 2; ++k) {
      auto host = abc[static_cast<std::size_t>(k)].acquire_write();
      for (std::int64_t i = 0; i < size; ++i) host.view()[i] = static_cast<float>((i + k) % 100);
    }
    return abc;
  };
  std::vector<std::string> lines;
  LaunchOptions automatic;
  automatic.policy = Policy::automatic;
  automatic.explain = [&](std::string_view line) { lines.emplace_back(line); };
  auto triad = [&](std::vector<Array<float>>& abc, std::int64_t size, const LaunchOptions& launch) {
    lines.clear();
    return runtime.run(triad_kernel(), Grid1D{size}, read_slice(abc[0]), read_slice(abc[1]),
                       write(abc[2]), kTriadScalar, launch);
  };
  auto opencl_line = [&] {
    const auto it = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
      return line.find("plan: opencl") != std::string::npos;
    });
    return it == lines.end() ? std::string() : *it;
  };
  std::vector<Array<float>> learning = arrays(4 * n);
  // Learns both rates: shares follow the lanes, on arrays large enough for each node to be busy
  // long enough.
  const LaunchResult learned = triad(learning, 4 * n, automatic);
  ASSERT_TRUE(std::all_of(learned.report.nodes.begin(), learned.report.nodes.end(),
                          [](const NodeReport& node) { return node.busy_s > 0.002; }));

  std::vector<Array<float>> fresh = arrays(n);
  const LaunchResult home = triad(fresh, n, automatic);
  EXPECT_EQ(home.report.nodes[1].tiles, 0) << opencl_line();
  EXPECT_TRUE(std::any_of(
      home.report.notes.begin(), home.report.notes.end(),
      [](const std::string& note) { return note.find("left out opencl") != std::string::npos; }))
      << fmt::format("{}", fmt::join(home.report.notes, " / "))
      << fmt::format("{}", fmt::join(lines, " / "));

  LaunchOptions on_device;
  on_device.nodes = {1};
  triad(fresh, n, on_device);  // b and c are on the device now
  const LaunchResult resident = triad(fresh, n, automatic);
  EXPECT_NE(opencl_line().find("0.0000 s moving data"), std::string::npos) << opencl_line();
  EXPECT_GT(resident.report.nodes[1].tiles, 0) << opencl_line();
  EXPECT_GT(resident.report.nodes[1].predicted_s, 0);
  const auto a = fresh[2].acquire_read();
  for (std::int64_t i = 0; i < n; i += 997) {
    const auto b = static_cast<float>(i % 100), c = static_cast<float>((i + 1) % 100);
    ASSERT_EQ(a.view()[i], b + kTriadScalar * c) << "element " << i;
  }
}

}  // namespace
}  // namespace hetero::detail

// The dispatcher across nodes, its failure and stop paths, buffers, trace and output files.
#include <gtest/gtest.h>

#include <cstring>

#include <array>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <png.h>
#include <nlohmann/json.hpp>

#include "core/mandelbrot_launch.hpp"
#include "hetero/backend/dispatcher.hpp"
#include "nodes/host_kernel.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

// A small full-preset job, quick on every node.
JobSpec small_full_job() {
  JobRequest request;
  request.preset = "full";
  request.width = 90;
  request.height = 70;
  request.max_iter = 300;
  return resolve_job(request);
}

// Every pair and triple of available backends, under every policy: counts identical to serial
// and each tile computed exactly once.
TEST(Dispatcher, PairsAndTriplesMatchSerialUnderEveryPolicy) {
  const std::vector<std::string> available = test::available_backends();
  const JobSpec spec = small_full_job();
  const std::vector<std::uint32_t> reference = test::reference_counts(spec);
  std::vector<std::vector<std::string>> sets;
  for (std::size_t a = 0; a < available.size(); ++a) {
    for (std::size_t b = a + 1; b < available.size(); ++b) {
      sets.push_back({available[a], available[b]});
      for (std::size_t c = b + 1; c < available.size(); ++c) {
        sets.push_back({available[a], available[b], available[c]});
      }
    }
  }
  ASSERT_FALSE(sets.empty());
  for (const auto& names : sets) {
    for (const std::string_view policy : policy_names()) {
      const RunResult result = test::run_on(names, spec, parse_policy(policy), 113);
      const std::string label = fmt::format("{} {}", fmt::join(names, "+"), policy);
      EXPECT_EQ(result.counts, reference) << label;
      std::set<std::int64_t> seen;
      std::int64_t computed = 0;
      for (const TraceEvent& event : result.trace.events) {
        if (event.kind != EventKind::compute) continue;
        seen.insert(event.tile);
        ++computed;
      }
      EXPECT_EQ(computed, result.report.tiles) << label;
      EXPECT_EQ(static_cast<std::int64_t>(seen.size()), result.report.tiles) << label;
    }
  }
}

TEST(Dispatcher, AFailedNodesTilesAreRerunAndCountsStayIdentical) {
  JobRequest request;
  request.preset = "full";
  request.width = 400;
  request.height = 300;
  request.max_iter = 500;
  const JobSpec spec = resolve_job(request);
  const std::vector<std::uint32_t> reference = test::reference_counts(spec);
  for (const std::string_view policy : policy_names()) {
    std::vector<std::unique_ptr<Node>> nodes;
    nodes.push_back(NodeRegistry::builtin().create("serial"));
    nodes.push_back(NodeRegistry::builtin().create("threads"));
    Dispatcher dispatcher(std::move(nodes));
    RunOptions options;
    options.policy = parse_policy(policy);
    options.tile_pixels = 400;
    options.faults = {{1, 3}};  // threads
    const RunResult result = dispatcher.run(Job(spec), options);
    EXPECT_EQ(result.counts, reference) << policy;
    EXPECT_NE(result.report.nodes[1].failure.find("injected fault"), std::string::npos) << policy;
    EXPECT_TRUE(result.report.nodes[0].failure.empty());
    // Fixed assignments leave the failed node's tiles behind; queues hand them to the others.
    if (policy == "static" || policy == "weighted") {
      EXPECT_GT(result.report.tiles_rerun, 0) << policy;
    }
    bool named = false;
    for (const std::string& note : result.report.notes) {
      named = named || note.find("node 'threads' failed") != std::string::npos;
    }
    EXPECT_TRUE(named) << policy;
    std::multiset<std::int64_t> seen;
    for (const TraceEvent& event : result.trace.events) {
      if (event.kind == EventKind::compute) seen.insert(event.tile);
    }
    for (std::int64_t t = 0; t < result.report.tiles; ++t) EXPECT_EQ(seen.count(t), 1U) << t;
  }
}

// Nodes are told apart by position, not name: of two serial nodes, only the second fails.
TEST(Dispatcher, AFaultHitsTheNodeAtItsPositionAmongNodesOfOneName) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  Dispatcher dispatcher(std::move(nodes));
  const JobSpec spec = resolve_job(JobRequest{});
  RunOptions options;
  options.tile_pixels = 5000;
  options.faults = {{1, 2}};
  const RunResult result = dispatcher.run(Job(spec), options);
  EXPECT_EQ(result.counts, test::reference_counts(spec));
  EXPECT_TRUE(result.report.nodes[0].failure.empty());
  EXPECT_NE(result.report.nodes[1].failure.find("injected fault"), std::string::npos);
}

TEST(Dispatcher, WhenEveryNodeFailsTheRunFails) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  Dispatcher dispatcher(std::move(nodes));
  RunOptions options;
  options.faults = {{0, 1}};
  EXPECT_THROW(dispatcher.run(Job(resolve_job(JobRequest{})), options), Error);
}

TEST(Policies, WeightedSpreadFollowsTheWeightsAcrossTheImage) {
  const std::vector<Tile> tiles = make_tiles(1000, 10);
  const auto lists = spread_by_weight(tiles, {3.0, 1.0});
  ASSERT_EQ(lists.size(), 2U);
  EXPECT_EQ(lists[0].size(), 75U);
  EXPECT_EQ(lists[1].size(), 25U);
  // Spread, not contiguous: the light node has tiles in both halves of the image.
  EXPECT_LT(lists[1].front().index, 50);
  EXPECT_GE(lists[1].back().index, 50);
  const auto zero = spread_by_weight(tiles, {0.0, 0.0});
  EXPECT_TRUE(zero[0].empty() && zero[1].empty());
}

TEST(Policies, AutoDropsANodeWhoseShareDoesNotPay) {
  // A node the model says is 1000x slower than the other gets no tiles, and the report says why.
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  nodes.push_back(NodeRegistry::builtin().create("threads"));
  const NodeInfo slow = nodes[0]->info();
  const NodeInfo fast = nodes[1]->info();
  Dispatcher dispatcher(std::move(nodes));
  ThroughputModel model;
  model.record(slow, Precision::fp64, Mode::exact, 0.001);
  model.record(fast, Precision::fp64, Mode::exact, 1.0);
  RunOptions options;
  options.policy = Policy::automatic;
  options.model = &model;
  const JobSpec spec = resolve_job(JobRequest{});
  const RunResult result = dispatcher.run(Job(spec), options);
  EXPECT_EQ(result.report.nodes[0].tiles, 0);
  EXPECT_EQ(result.report.nodes[1].tiles, result.report.tiles);
  EXPECT_EQ(result.report.checksum.sum, 51214485U);
  ASSERT_FALSE(result.report.notes.empty());
  EXPECT_NE(result.report.notes.front().find("auto dropped serial"), std::string::npos)
      << result.report.notes.front();
  EXPECT_GT(result.report.efficiency, 0.0);
}

// Found by the stress test: with fewer tiles than nodes every node's share fell below one tile
// and auto dropped them all. The fastest node always stays.
TEST(Policies, AutoKeepsAtLeastOneNodeWhenTilesAreFewerThanNodes) {
  JobRequest request;
  request.width = 10;
  request.height = 2;
  const JobSpec spec = resolve_job(request);
  std::vector<std::string> names = test::available_backends();
  names.resize(std::min<std::size_t>(names.size(), 3));
  ASSERT_GE(names.size(), 2U);
  const RunResult result = test::run_on(names, spec, Policy::automatic, 10);
  EXPECT_EQ(result.report.tiles, 2);
  EXPECT_EQ(result.counts, test::reference_counts(spec));
}

TEST(Policies, WeightedAndAutoCalibrateUnknownNodesIntoTheModel) {
  ThroughputModel model;
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  nodes.push_back(NodeRegistry::builtin().create("threads"));
  const NodeInfo serial = nodes[0]->info();
  Dispatcher dispatcher(std::move(nodes));
  EXPECT_EQ(model.estimate(serial, Precision::fp32, Mode::fma).state, ModelState::uncalibrated);
  RunOptions options;
  options.policy = Policy::weighted;
  options.model = &model;
  JobRequest request;
  request.precision = Precision::fp32;
  request.mode = Mode::fma;
  dispatcher.run(Job(resolve_job(request)), options);
  const ThroughputEstimate estimate = model.estimate(serial, Precision::fp32, Mode::fma);
  EXPECT_EQ(estimate.state, ModelState::calibrated);
  EXPECT_GT(estimate.giters, 0.0);
  EXPECT_EQ(model.estimate(serial, Precision::fp64, Mode::exact).state, ModelState::uncalibrated);
}

TEST(Model, MedianIgnoresOutliersAndPersists) {
  const auto file = std::filesystem::temp_directory_path() / "hetero-model-test.json";
  std::filesystem::remove(file);
  NodeInfo node;
  node.name = "serial";
  node.device = "cpu";
  {
    ThroughputModel model(file);
    for (const double sample : {1.0, 1.1, 0.9, 50.0, 1.05}) {
      model.record(node, Precision::fp64, Mode::exact, sample);
    }
    EXPECT_DOUBLE_EQ(model.estimate(node, Precision::fp64, Mode::exact).giters, 1.05);
    model.save();
  }
  ThroughputModel reloaded(file);
  EXPECT_TRUE(reloaded.load_problem().empty());
  EXPECT_DOUBLE_EQ(reloaded.estimate(node, Precision::fp64, Mode::exact).giters, 1.05);
  EXPECT_EQ(reloaded.estimate(node, Precision::fp64, Mode::exact).samples, 5);
  std::filesystem::remove(file);
}

// A model writes its file only when it learned something since it read or wrote it: a run too
// short to learn from leaves the file as it was.
TEST(Model, SavesOnlyWhenItLearnedSomething) {
  const auto file = std::filesystem::temp_directory_path() / "hetero-model-save-test.json";
  std::filesystem::remove(file);
  NodeInfo node;
  node.name = "serial";
  node.device = "cpu";
  {
    ThroughputModel model(file);
    model.save();
    EXPECT_FALSE(std::filesystem::exists(file)) << "nothing learned, yet the file was written";
    model.record(node, Precision::fp64, Mode::exact, 1.0);
    model.save();
    EXPECT_TRUE(std::filesystem::exists(file));
  }
  ThroughputModel loaded(file);
  std::filesystem::remove(file);
  loaded.save();
  EXPECT_FALSE(std::filesystem::exists(file)) << "a model saved what it had only read";
  loaded.record(node, Precision::fp64, Mode::exact, 2.0);
  loaded.save();
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(ThroughputModel(file).estimate(node, Precision::fp64, Mode::exact).samples, 2);
  std::filesystem::remove(file);
}

// A kernel's rate, its link's achieved bandwidth and its run overhead are three figures of
// their own per node, each the median of its samples, and they persist.
TEST(Model, KernelRatesLinksAndOverheadsAreKeptApartAndPersist) {
  const auto file = std::filesystem::temp_directory_path() / "hetero-model-kernel-test.json";
  std::filesystem::remove(file);
  NodeInfo node;
  node.name = "opencl";
  node.device = "a device";
  {
    ThroughputModel model(file);
    for (const double gbps : {1.6, 1.7, 9.0}) model.record_link_rate("triad", node, gbps);
    model.record_kernel_rate("triad", node, 0.5);
    for (const double s : {0.003, -0.001, 0.004}) model.record_run_overhead("triad", node, s);
    model.save();
  }
  const ThroughputModel reloaded(file);
  EXPECT_TRUE(reloaded.load_problem().empty());
  EXPECT_DOUBLE_EQ(reloaded.link_rate("triad", node), 1.7);
  EXPECT_DOUBLE_EQ(reloaded.kernel_rate("triad", node), 0.5);
  EXPECT_DOUBLE_EQ(reloaded.run_overhead("triad", node), 0.003);  // a negative part counts as 0
  EXPECT_EQ(reloaded.link_rate("other", node), 0);
  std::filesystem::remove(file);
}

TEST(Model, CorruptOrForeignFilesAreReportedAndIgnored) {
  const auto file = std::filesystem::temp_directory_path() / "hetero-model-corrupt.json";
  for (const char* text :
       {"{not json", "[]", R"({"schema":"other","schema_version":1,"entries":{}})",
        R"({"schema":"hetero.models","schema_version":1,"entries":{"k":[-1]}})",
        R"({"schema":"hetero.models","schema_version":9,"entries":{}})",
        // Found by fuzzing: a huge version was converted to int (undefined behaviour), and
        // samples near the largest double overflowed the median.
        R"({"schema":"hetero.models","schema_version":1e300,"entries":{}})",
        R"({"schema":5,"schema_version":1,"entries":{}})",
        R"({"schema":"hetero.models","schema_version":1,"entries":{"k":[1.5e308,1.4e308]}})"}) {
    std::ofstream(file) << text;
    ThroughputModel model(file);
    EXPECT_FALSE(model.load_problem().empty()) << text;
    NodeInfo node;
    EXPECT_EQ(model.estimate(node, Precision::fp64, Mode::exact).state, ModelState::uncalibrated);
  }
  std::filesystem::remove(file);
}

// Under auto, for every pair of host nodes, the run keeps only the one the model says is
// faster on the host CPU (both orders, either one faster), and the report rates the run against
// that node alone. The times themselves are measured by hetero-bench's auto_pair family.
TEST(Planning, UnderAutoEveryPairOfHostNodesRunsOnlyTheFasterOne) {
  const NodeRegistry& registry = NodeRegistry::builtin();
  std::vector<std::string> host;
  for (const std::string name : {"serial", "threads", "openmp", "simd", "kokkos"}) {
    if (registry.describe(name).available) host.push_back(name);
  }
  ASSERT_GE(host.size(), 2U);
  const JobSpec spec = small_full_job();
  const std::vector<std::uint32_t> reference = test::reference_counts(spec);
  for (std::size_t a = 0; a < host.size(); ++a) {
    for (std::size_t b = 0; b < host.size(); ++b) {
      if (a == b) continue;
      // b is the faster: taught to a model of the test's own.
      ThroughputModel model;
      RuntimeOptions options;
      options.nodes = {host[a], host[b]};
      options.fastest_on_shared = true;
      options.model = &model;
      Runtime runtime(options);
      const std::vector<NodeInfo> infos = runtime.nodes();
      ASSERT_EQ(infos.size(), 2U) << host[a] << "," << host[b];
      for (int k = 0; k < 3; ++k) {
        model.record(infos[0], spec.precision, spec.mode, 1.0);
        model.record(infos[1], spec.precision, spec.mode, 3.0);
      }
      RunOptions run;
      run.policy = Policy::automatic;
      const RunResult result = runtime.run(Job(spec), run);
      const std::string pair = host[a] + "," + host[b];
      EXPECT_EQ(result.report.nodes[0].tiles, 0) << pair;
      EXPECT_EQ(result.report.nodes[1].tiles, result.report.tiles) << pair;
      EXPECT_EQ(result.report.best_alone_node, host[b]) << pair;
      EXPECT_GT(result.report.efficiency_vs_best_alone, 0) << pair;
      EXPECT_TRUE(std::any_of(result.report.notes.begin(), result.report.notes.end(),
                              [&](const std::string& note) {
                                return note.find("auto left out " + host[a]) != std::string::npos;
                              }))
          << pair;
      EXPECT_EQ(result.counts, reference) << pair;
    }
  }
}

TEST(Planning, UnderAutoNodesOnTheHostCpuAreNotSplitAndOtherPoliciesRunThemAll) {
  const NodePlan plan =
      plan_nodes({"serial", "threads"}, {}, Sharing::fastest, NodeRegistry::builtin());
  ASSERT_EQ(plan.names.size(), 2U);
  EXPECT_EQ(plan.options[1].workers, 0);  // every hardware thread
  ASSERT_EQ(plan.notes.size(), 1U);
  EXPECT_NE(plan.notes[0].find("predicted fastest"), std::string::npos) << plan.notes[0];

  ThroughputModel model;
  RuntimeOptions options;
  options.nodes = {"serial", "threads"};
  options.fastest_on_shared = true;
  options.model = &model;
  Runtime runtime(options);
  RunOptions dynamic;
  dynamic.policy = Policy::dynamic;
  JobRequest request;
  request.width = 64;
  request.height = 48;
  const RunResult result = runtime.run(Job(resolve_job(request)), dynamic);
  EXPECT_GT(result.report.nodes[0].tiles + result.report.nodes[1].tiles, 0);
  EXPECT_EQ(result.report.nodes[0].tiles + result.report.nodes[1].tiles, result.report.tiles);
}

TEST(Planning, NodesSharingTheHostCpuSplitItsThreads) {
  const NodeRegistry& registry = NodeRegistry::builtin();
  const NodePlan plan = plan_nodes({"serial", "threads"}, {}, Sharing::split, registry);
  ASSERT_EQ(plan.names, (std::vector<std::string>{"serial", "threads"}));
  const int cores = registry.describe("threads").concurrency;
  EXPECT_EQ(plan.options[1].workers, std::max(1, cores - 1));
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_NE(plan.notes.back().find("share the host CPU"), std::string::npos);
  const NodePlan shared = plan_nodes({"serial", "threads"}, {}, Sharing::all, registry);
  EXPECT_EQ(shared.options[1].workers, 0);
  const NodePlan alone = plan_nodes({"threads"}, {}, Sharing::split, registry);
  EXPECT_TRUE(alone.notes.empty());
}

TEST(Dispatcher, StaticSplitsTilesByLanesContiguously) {
  NodeOptions two;
  two.workers = 2;
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  nodes.push_back(NodeRegistry::builtin().create("threads", two));
  Dispatcher dispatcher(std::move(nodes));
  JobRequest request;
  request.width = 30;
  request.height = 30;
  RunOptions options;
  options.policy = Policy::static_split;
  options.tile_pixels = 30;
  const RunResult result = dispatcher.run(Job(resolve_job(request)), options);
  // 30 tiles over 3 lanes: serial owns the first 10, threads the other 20.
  for (const TraceEvent& event : result.trace.events) {
    if (event.kind != EventKind::compute) continue;
    EXPECT_EQ(event.node == 0, event.tile < 10) << "tile " << event.tile;
  }
  EXPECT_EQ(result.report.nodes[0].tiles, 10);
  EXPECT_EQ(result.report.nodes[1].tiles, 20);
}

// A node that fails on its first tile.
class FailingNode final : public Node {
 public:
  FailingNode() {
    info_.name = "failing";
    info_.available = true;
  }
  const NodeInfo& info() const override { return info_; }
  bool can_run(const backend::KernelDefinition&, std::string&) const override { return true; }
  void launch(const backend::Launch&, WorkSource& work, NodeTrace&) override {
    if (work.self_scheduling() ? work.next().has_value() : !work.assigned().empty()) {
      throw Error("injected fault");
    }
  }

 private:
  NodeInfo info_;
};

// The serial node's kernel under another name and kind, recording the thread of each launch.
class ThreadRecordingNode final : public Node {
 public:
  ThreadRecordingNode(std::string name, NodeKind kind)
      : inner_(NodeRegistry::builtin().create("serial")), info_(inner_->info()) {
    info_.name = std::move(name);
    info_.kind = kind;
  }
  const NodeInfo& info() const override { return info_; }
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override {
    return inner_->can_run(kernel, why);
  }
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override {
    threads_.push_back(std::this_thread::get_id());
    inner_->launch(launch, work, trace);
  }
  const std::vector<std::thread::id>& threads() const { return threads_; }

 private:
  std::unique_ptr<Node> inner_;
  NodeInfo info_;
  std::vector<std::thread::id> threads_;
};

// A run on one host node needs no thread of its own; a device node's runtime may keep state per
// thread (CUDA's current device), so it runs on one; several nodes run at once, each on its own.
TEST(Dispatcher, ALoneHostNodeRunsOnTheCallingThreadOthersOnThreadsOfTheirOwn) {
  const Job job(test::preset_job("seed", 64, 48, 200, Precision::fp64, Mode::exact));
  const auto run_on = [&](std::vector<std::pair<std::string, NodeKind>> specs) {
    std::vector<std::unique_ptr<Node>> nodes;
    std::vector<const ThreadRecordingNode*> recorders;
    for (auto& [name, kind] : specs) {
      nodes.push_back(std::make_unique<ThreadRecordingNode>(name, kind));
      recorders.push_back(static_cast<const ThreadRecordingNode*>(nodes.back().get()));
    }
    Dispatcher dispatcher(std::move(nodes));
    RunOptions options;
    options.policy = Policy::dynamic;
    EXPECT_EQ(dispatcher.run(job, options).counts, test::reference_counts(job.spec()));
    std::vector<std::thread::id> threads;
    for (const ThreadRecordingNode* recorder : recorders) {
      EXPECT_EQ(recorder->threads().size(), 1U) << recorder->info().name;
      if (!recorder->threads().empty()) threads.push_back(recorder->threads().front());
    }
    return threads;
  };
  const std::thread::id caller = std::this_thread::get_id();
  EXPECT_EQ(run_on({{"host-like", NodeKind::host}}), std::vector<std::thread::id>{caller});
  const std::vector<std::thread::id> device = run_on({{"device-like", NodeKind::device}});
  ASSERT_EQ(device.size(), 1U);
  EXPECT_NE(device.front(), caller);
  const std::vector<std::thread::id> two =
      run_on({{"host-a", NodeKind::host}, {"host-b", NodeKind::host}});
  ASSERT_EQ(two.size(), 2U);
  EXPECT_NE(two[0], caller);
  EXPECT_NE(two[1], caller);
  EXPECT_NE(two[0], two[1]);
}

TEST(Dispatcher, ANodeFailureIsReportedWithTheNodesName) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(std::make_unique<FailingNode>());
  Dispatcher dispatcher(std::move(nodes));
  try {
    dispatcher.run(Job(resolve_job(JobRequest{})));
    FAIL() << "the run should have failed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'failing' failed: injected fault"),
              std::string::npos)
        << e.what();
  }
}

TEST(Dispatcher, AStopRequestEndsTheRunAsCancelled) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("threads"));
  Dispatcher dispatcher(std::move(nodes));
  std::atomic<bool> stop{true};
  RunOptions options;
  options.stop = &stop;
  EXPECT_THROW(dispatcher.run(Job(resolve_job(JobRequest{})), options), Cancelled);
  options.policy = Policy::static_split;
  EXPECT_THROW(dispatcher.run(Job(resolve_job(JobRequest{})), options), Cancelled);
}

TEST(Dispatcher, AStopRequestEndsACalibrationToo) {
  // Two nodes the model does not know: the auto policy calibrates them before the run, and a
  // calibration of a deep job can take long; it must stop as promptly as the run does.
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  nodes.push_back(NodeRegistry::builtin().create("threads"));
  Dispatcher dispatcher(std::move(nodes));
  std::atomic<bool> stop{true};
  ThroughputModel model;
  RunOptions options;
  options.policy = Policy::automatic;
  options.model = &model;
  options.stop = &stop;
  const JobSpec spec = test::region_job({-2.1, 0.7, -1.3, 1.1}, 1000, 1000, 1000000);
  try {
    dispatcher.run(Job(spec), options);
    FAIL() << "the run should have been cancelled";
  } catch (const Cancelled& e) {
    EXPECT_NE(std::string(e.what()).find("stopped while calibrating serial"), std::string::npos)
        << e.what();
  }
  const NodeInfo serial = NodeRegistry::builtin().describe("serial");
  EXPECT_EQ(model.estimate(serial, spec.precision, spec.mode).state, ModelState::uncalibrated)
      << "a cancelled calibration left the node calibrating";
}

// Host memory that counts what it holds.
class CountingSpace final : public MemorySpace {
 public:
  std::string_view name() const override { return "counting"; }
  void* allocate(std::size_t bytes) override {
    ++allocations;
    held = bytes;
    return HostSpace::instance().allocate(bytes);
  }
  void deallocate(void* pointer, std::size_t bytes) noexcept override {
    held -= bytes;
    HostSpace::instance().deallocate(pointer, bytes);
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  int allocations = 0;
  std::size_t held = 0;
};

// A serial node that says it is a device with a full wave and, when given one, a staging memory;
// it records the tiles of every launch it runs.
class DeviceLikeNode final : public Node {
 public:
  explicit DeviceLikeNode(std::int64_t wave, std::shared_ptr<CountingSpace> staging = nullptr)
      : inner_(NodeRegistry::builtin().create("serial")),
        info_(inner_->info()),
        wave_(wave),
        staging_(std::move(staging)) {
    info_.name = "device-like";
    info_.kind = NodeKind::device;
  }
  const NodeInfo& info() const override { return info_; }
  std::int64_t full_wave(const backend::KernelDefinition& /*kernel*/) const override {
    return wave_;
  }
  std::shared_ptr<MemorySpace> host_staging() override { return staging_; }
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override {
    return inner_->can_run(kernel, why);
  }
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override {
    pixels_.push_back(launch.width);
    inner_->launch(launch, work, trace);
    std::int64_t short_of_a_wave = 0;
    for (std::int32_t lane = 0; lane < trace.lane_count(); ++lane) {
      for (const TraceEvent& event : trace.lane_at(lane).events()) {
        short_of_a_wave += event.kind == EventKind::compute && event.pixels < wave_ ? 1 : 0;
      }
    }
    short_tiles_.push_back(short_of_a_wave);
  }
  /// Per launch: its pixels, and its tiles of fewer pixels than a wave.
  const std::vector<std::int64_t>& short_tiles() const { return short_tiles_; }
  const std::vector<std::int64_t>& pixels() const { return pixels_; }

 private:
  std::unique_ptr<Node> inner_;
  NodeInfo info_;
  std::int64_t wave_;
  std::shared_ptr<CountingSpace> staging_;
  std::vector<std::int64_t> short_tiles_, pixels_;
};

TEST(Dispatcher, CountsLieInTheStagingMemoryOfANodeThatHasOneUntilTheResultGoes) {
  const auto staging = std::make_shared<CountingSpace>();
  const JobSpec spec = test::region_job({-2.1, 0.7, -1.3, 1.1}, 97, 31, 100);
  {
    std::vector<std::unique_ptr<Node>> nodes;
    nodes.push_back(NodeRegistry::builtin().create("serial"));
    nodes.push_back(std::make_unique<DeviceLikeNode>(0, staging));
    Dispatcher dispatcher(std::move(nodes));
    const RunResult result = dispatcher.run(Job(spec));
    EXPECT_EQ(result.counts, test::reference_counts(spec));
    EXPECT_EQ(staging->allocations, 1);
    EXPECT_EQ(staging->held, static_cast<std::size_t>(spec.pixels()) * sizeof(std::uint32_t));
  }
  EXPECT_EQ(staging->held, 0U) << "the counts outlived their result";
}

TEST(Dispatcher, ADeviceIsCalibratedWarmOnLaunchesOfAFullWave) {
  constexpr std::int64_t kWave = 50000;
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(std::make_unique<DeviceLikeNode>(kWave));
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  const auto& wave = static_cast<const DeviceLikeNode&>(*nodes[0]);
  Dispatcher dispatcher(std::move(nodes));
  ThroughputModel model;
  RunOptions options;
  options.policy = Policy::weighted;
  options.model = &model;
  const JobSpec spec = test::region_job({-2.1, 0.7, -1.3, 1.1}, 1000, 1000, 50);
  const RunResult result = dispatcher.run(Job(spec), options);
  EXPECT_EQ(result.counts, test::reference_counts(spec));
  // A warm-up launch, the timed one (at least four waves, in tiles of a wave at least), then
  // the run's own.
  ASSERT_EQ(wave.pixels().size(), 3U);
  EXPECT_LT(wave.pixels()[0], wave.pixels()[1]);
  EXPECT_GE(wave.pixels()[1], 4 * kWave * 99 / 100);  // the job scaled to about 4 waves
  EXPECT_LE(wave.short_tiles()[1], 1) << "only the last tile may be ragged";
  EXPECT_EQ(wave.pixels()[2], spec.pixels());
}

// Figures of another build, or of another tile kernel, are never mixed with this one's.
TEST(ThroughputModelKeys, CarryTheBuildAndTheTileKernel) {
  NodeOptions scalar, simd;
  simd.kernel = "simd";
  const NodeInfo plain = NodeRegistry::builtin().describe("threads", scalar);
  const NodeInfo vector = NodeRegistry::builtin().describe("threads", simd);
  EXPECT_NE(ThroughputModel::identity(plain), ThroughputModel::identity(vector));
  EXPECT_EQ(ThroughputModel::identity(plain).rfind(std::string("hetero ") + version_string, 0), 0U);

  ThroughputModel model;
  model.record(plain, Precision::fp64, Mode::exact, 1.5);
  std::string text = model.to_json();
  // The same entry as another build wrote it is left out when loaded.
  const std::string mine = std::string("hetero ") + version_string + "/";
  text.replace(text.find(mine), mine.size(), "hetero 0.0.0-other/");
  ThroughputModel reloaded;
  reloaded.load_json(text);
  EXPECT_EQ(reloaded.estimate(plain, Precision::fp64, Mode::exact).state, ModelState::uncalibrated);
}

TEST(Dispatcher, ProgressCountsEveryTile) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  Dispatcher dispatcher(std::move(nodes));
  Progress progress;
  RunOptions options;
  options.tile_pixels = 1000;
  dispatcher.run(Job(resolve_job(JobRequest{})), options, &progress);
  EXPECT_EQ(progress.tiles_total.load(), 250);
  EXPECT_EQ(progress.tiles_done.load(), 250);
}

// Asked to weigh the work, a job's progress counts each tile by its sampled iterations: the
// whole job at the end, and the tiles predicted heaviest are ones that did cost the most.
TEST(Dispatcher, ProgressWeighsTheJobsTilesByTheirSampledIterations) {
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.push_back(NodeRegistry::builtin().create("serial"));
  Dispatcher dispatcher(std::move(nodes));
  JobRequest request;
  request.width = 200;
  request.height = 200;
  const Job job(resolve_job(request));
  const std::vector<Tile> tiles = make_tiles(job.pixels(), 2000);
  const std::vector<double> predicted = detail::sampled_tile_work(job, tiles);
  Progress progress;
  progress.weigh_work = true;
  RunOptions options;
  options.tile_pixels = 2000;
  const RunResult result = dispatcher.run(job, options, &progress);
  double total = 0;
  for (const double work : predicted) total += work;
  EXPECT_DOUBLE_EQ(progress.work_total.load(), total);
  EXPECT_DOUBLE_EQ(progress.work_done.load(), total);
  EXPECT_DOUBLE_EQ(progress.fraction(), 1.0);
  std::vector<double> actual(tiles.size(), 0);
  for (const TraceEvent& event : result.trace.events) {
    if (event.kind == EventKind::compute) {
      actual[static_cast<std::size_t>(event.tile)] += static_cast<double>(event.iterations);
    }
  }
  // Within a factor of two over the job, and the heaviest predicted tile in the heaviest third.
  const double performed = std::accumulate(actual.begin(), actual.end(), 0.0);
  EXPECT_GT(total, performed / 2);
  EXPECT_LT(total, performed * 2);
  const auto heaviest = static_cast<std::size_t>(
      std::max_element(predicted.begin(), predicted.end()) - predicted.begin());
  std::vector<double> sorted = actual;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_GE(actual[heaviest], sorted[sorted.size() * 2 / 3]);
}

TEST(Registry, UnknownAndUnavailableBackendsAreOneLineErrors) {
  const NodeRegistry& registry = NodeRegistry::builtin();
  try {
    registry.create("quantum");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("known backends are serial, threads"), std::string::npos)
        << e.what();
  }
  for (const Backend& backend : registry.backends()) {
    const NodeInfo info = registry.describe(backend.name);
    EXPECT_EQ(info.name, backend.name);
    if (!info.available) {
      EXPECT_FALSE(info.reason.empty()) << backend.name;
      EXPECT_THROW(registry.create(backend.name), UsageError) << backend.name;
    }
  }
  EXPECT_THROW(parse_backend_list("serial,serial", registry), UsageError);
  EXPECT_THROW(parse_backend_list("serial,", registry), UsageError);
  EXPECT_EQ(parse_backend_list("threads,serial", registry),
            (std::vector<std::string>{"threads", "serial"}));
  EXPECT_EQ(parse_backend_list("all", registry), test::available_backends());
}

// "NAME:DEVICE" names a device node on one device: its device replaces --device for that node
// alone, the same backend may run on two devices, and a host node has no device to name.
TEST(Registry, ANodeEntryNamesItsDevice) {
  NodeRegistry registry;
  for (const NodeKind kind : {NodeKind::host, NodeKind::device}) {
    Backend backend;
    backend.name = kind == NodeKind::host ? "cpu" : "gpu";
    backend.kind = kind;
    backend.built = true;
    backend.describe = [kind](const NodeOptions& options) {
      NodeInfo info;
      info.name = kind == NodeKind::host ? "cpu" : "gpu";
      info.kind = kind;
      info.device = "device '" + options.device + "'";
      info.resource = info.device;
      info.available = true;
      return info;
    };
    registry.add(backend);
  }
  NodeOptions options;
  options.device = "default";
  EXPECT_EQ(registry.describe("gpu", options).device, "device 'default'");
  EXPECT_EQ(registry.describe("gpu:1", options).device, "device '1'");
  EXPECT_EQ(registry.describe("gpu:0:2", options).name, "gpu");
  EXPECT_EQ(registry.describe("gpu:0:2", options).device, "device '0:2'");
  EXPECT_EQ(parse_backend_list("gpu:0,gpu:1,cpu", registry, options),
            (std::vector<std::string>{"gpu:0", "gpu:1", "cpu"}));
  const NodePlan plan = plan_nodes({"gpu:0", "gpu:1"}, options, Sharing::split, registry);
  EXPECT_EQ(plan.names, (std::vector<std::string>{"gpu:0", "gpu:1"})) << "two devices, both kept";
  test::expect_one_line_error([&] { parse_backend_list("cpu:1", registry, options); },
                              {"'cpu:1'", "no device", "drop ':1'"});
  test::expect_one_line_error([&] { parse_backend_list("gpu:", registry, options); },
                              {"'gpu:'", "name a device"});
  test::expect_one_line_error([&] { parse_backend_list("gpu:1,gpu:1", registry, options); },
                              {"'gpu:1' is named twice"});
  test::expect_one_line_error([&] { parse_backend_list("tpu:1", registry, options); },
                              {"unknown backend 'tpu'"});
}

// A registry of two fake backends, one of which cannot run.
NodeRegistry registry_with_an_absent_device() {
  NodeRegistry registry;
  for (const bool available : {true, false}) {
    Backend backend;
    backend.name = available ? "up" : "down";
    backend.built = true;
    backend.describe = [available, name = backend.name](const NodeOptions&) {
      NodeInfo info;
      info.name = name;
      info.available = available;
      if (!available) info.reason = "no device in this machine";
      return info;
    };
    registry.add(std::move(backend));
  }
  return registry;
}

TEST(Registry, FallbackKeepsTheAvailableBackendsAndSaysWhyTheOthersCannotRun) {
  const NodeRegistry registry = registry_with_an_absent_device();
  const FallbackChoice choice = fall_back_to_available({"down", "up"}, registry, {}, "up");
  EXPECT_EQ(choice.names, (std::vector<std::string>{"up"}));
  ASSERT_EQ(choice.unavailable.size(), 1U);
  EXPECT_EQ(choice.unavailable[0].name, "down");
  EXPECT_EQ(choice.unavailable[0].reason, "no device in this machine");
  ASSERT_EQ(choice.notes().size(), 1U);
  EXPECT_EQ(choice.notes()[0],
            "down is unavailable (no device in this machine); its tiles run on up instead "
            "(--fallback)");

  // Nothing asked for can run: the fallback backend runs alone, unless it cannot run either.
  EXPECT_EQ(fall_back_to_available({"down"}, registry, {}, "up").names,
            (std::vector<std::string>{"up"}));
  EXPECT_THROW(fall_back_to_available({"down"}, registry, {}, "down"), UsageError);
  // Everything available: nothing changes.
  const FallbackChoice all_up = fall_back_to_available({"up"}, registry, {}, "down");
  EXPECT_EQ(all_up.names, (std::vector<std::string>{"up"}));
  EXPECT_TRUE(all_up.unavailable.empty());
}

TEST(Registry, EveryDesignBackendIsListedBuiltOrNot) {
  const std::vector<std::string> names = NodeRegistry::builtin().names();
  for (const char* name :
       {"serial", "threads", "openmp", "simd", "kokkos", "opencl", "cuda", "thrust", "mpi"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

TEST(HostKernels, UnknownKernelNamesTheKnownOnes) {
  EXPECT_NE((nodes::host_kernel_family("scalar").axes<double, kernels::Arith::exact>()), nullptr);
  try {
    nodes::host_kernel_family("magic");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("scalar"), std::string::npos);
  }
  // The job's kernel through the same table: a node asked for an unknown one fails in one line.
  NodeOptions options;
  options.kernel = "magic";
  EXPECT_THROW(test::run_on({"threads"}, resolve_job(JobRequest{}), Policy::dynamic, 0, options),
               UsageError);
}

TEST(Buffers, CopiesAreTracedWithTheirBytes) {
  TraceClock clock;
  NodeTrace trace(&clock, 0);
  TraceLane& lane = trace.lane(0);
  const std::vector<std::uint32_t> source = {1, 2, 3, 4, 5};
  Buffer<std::uint32_t> buffer(HostSpace::instance(), source.size());
  EXPECT_GE(HostSpace::instance().bytes_in_use(), 20U);
  copy(buffer, 0, std::span<const std::uint32_t>(source), lane, "up");
  std::vector<std::uint32_t> back(3);
  copy(std::span<std::uint32_t>(back), buffer, 2, lane, "down");
  EXPECT_EQ(back, (std::vector<std::uint32_t>{3, 4, 5}));
  ASSERT_EQ(lane.events().size(), 2U);
  EXPECT_EQ(lane.events()[0].kind, EventKind::copy_to_device);
  EXPECT_EQ(lane.events()[0].bytes, 20U);
  EXPECT_EQ(lane.events()[1].kind, EventKind::copy_to_host);
  EXPECT_EQ(lane.events()[1].bytes, 12U);
}

TEST(Trace, ChromeTraceHasOneEventPerComputeAndNodeNames) {
  JobRequest request;
  request.width = 50;
  request.height = 20;
  const RunResult result = test::run_on({"serial", "threads"}, resolve_job(request));
  std::ostringstream out;
  write_chrome_trace(result.trace, out);
  const auto document = nlohmann::json::parse(out.str());
  std::int64_t complete = 0;
  std::set<std::string> processes;
  std::set<std::pair<int, int>> named_lanes, lanes;
  for (const auto& event : document["traceEvents"]) {
    if (event["ph"] == "X") {
      ++complete;
      lanes.emplace(event["pid"].get<int>(), event["tid"].get<int>());
    }
    if (event["name"] == "process_name") {
      processes.insert(event["args"]["name"].get<std::string>());
    }
    if (event["name"] == "thread_name") {
      named_lanes.emplace(event["pid"].get<int>(), event["tid"].get<int>());
      const std::string node = event["pid"] == 0 ? "serial" : "threads";
      EXPECT_EQ(event["args"]["name"], node + " lane " + std::to_string(event["tid"].get<int>()));
    }
  }
  EXPECT_EQ(complete, static_cast<std::int64_t>(result.trace.events.size()));
  EXPECT_EQ(processes, (std::set<std::string>{"serial", "threads"}));
  EXPECT_EQ(named_lanes, lanes) << "every lane with events is named";
}

// A copy's cause travels to the Chrome trace and into the report's bytes by cause.
TEST(Trace, CopiesCarryTheirCauseIntoTheTraceAndTheReport) {
  TraceClock clock;
  NodeTrace node(&clock, 0);
  TraceLane& lane = node.lane(0);
  lane.copy(EventKind::copy_to_device, "x", 100, 0, 10, 0);
  lane.copy(EventKind::copy_to_device, TransferCause::halo, "x", 8, 10, 12, 0);
  lane.copy(EventKind::copy_to_host, "z", 50, 20, 30, 0);
  Trace trace;
  trace.node_names = {"opencl"};
  trace.events = lane.events();
  trace.wall_ns = 40;
  std::ostringstream out;
  write_chrome_trace(trace, out);
  std::multiset<std::string> causes;
  const auto document = nlohmann::json::parse(out.str());
  for (const auto& event : document["traceEvents"]) {
    if (event["ph"] == "X") causes.insert(event["args"]["cause"].get<std::string>());
  }
  EXPECT_EQ(causes, (std::multiset<std::string>{"read miss", "halo", "write-back"}));
  NodeInfo info;
  info.name = "opencl";
  info.kind = NodeKind::device;
  JobSpec space;
  const Report report = make_report(trace, {info}, {1}, space, Policy::dynamic, 1, 1, Checksum{});
  const TransferBytes& bytes = report.nodes[0].transfers;
  EXPECT_EQ(bytes.read_miss, 100U);
  EXPECT_EQ(bytes.halo, 8U);
  EXPECT_EQ(bytes.write_back, 50U);
  EXPECT_EQ(bytes.eviction, 0U);
  const auto json = nlohmann::json::parse(to_json(report));
  EXPECT_EQ(json["nodes"][0]["bytes_by_cause"]["halo"].get<std::uint64_t>(), 8U);
}

TEST(Report, CoveredSecondsCountOverlapsOnce) {
  EXPECT_DOUBLE_EQ(covered_seconds({}), 0.0);
  EXPECT_DOUBLE_EQ(covered_seconds({{0, 10}, {5, 15}, {20, 30}, {22, 25}}), 25e-9);
  EXPECT_DOUBLE_EQ(covered_seconds({{20, 30}, {0, 10}, {10, 20}}), 30e-9);
}

// A device's lanes (streams, queues) share it: its busy and copy times are the union of their
// intervals, where a host node's are the mean over its workers.
TEST(Report, ADeviceNodesTimesAreTheUnionOfItsLanesIntervals) {
  Trace trace;
  trace.wall_ns = 1000;
  const auto event = [](EventKind kind, std::int32_t node, std::int32_t lane, std::int64_t begin,
                        std::int64_t end) {
    TraceEvent e;
    e.kind = kind;
    e.node = node;
    e.lane = lane;
    e.begin_ns = begin;
    e.end_ns = end;
    e.tile = begin;
    return e;
  };
  // Two lanes each: overlapping kernels (0-400 and 200-600), copies 600-700 and 650-800.
  for (std::int32_t node = 0; node < 2; ++node) {
    trace.events.push_back(event(EventKind::compute, node, 0, 0, 400));
    trace.events.push_back(event(EventKind::compute, node, 1, 200, 600));
    trace.events.push_back(event(EventKind::copy_to_host, node, 0, 600, 700));
    trace.events.push_back(event(EventKind::copy_to_host, node, 1, 650, 800));
  }
  NodeInfo device, host;
  device.kind = NodeKind::device;
  host.kind = NodeKind::host;
  const Report report =
      make_report(trace, {device, host}, {2, 2}, JobSpec{}, Policy::dynamic, 1, 4, Checksum{});
  EXPECT_NEAR(report.nodes[0].busy_s, 600e-9, 1e-15);
  EXPECT_NEAR(report.nodes[0].transfer_s, 200e-9, 1e-15);
  EXPECT_NEAR(report.nodes[1].busy_s, 400e-9, 1e-15);  // (400 + 400) / 2 workers
  EXPECT_NEAR(report.nodes[1].transfer_s, 125e-9, 1e-15);
}

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ =
        std::filesystem::temp_directory_path() /
        ("hetero-output-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::size_t files() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(folder_),
                                                  std::filesystem::directory_iterator()));
  }
  std::filesystem::path folder_;
};

TEST_F(OutputFileTest, AppearsOnlyWhenCommitted) {
  const auto path = folder_ / "image.png";
  {
    OutputFile file(path);
    file.stream() << "partial";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(files(), 0U);
  {
    OutputFile file(path);
    file.stream() << "whole";
    file.commit();
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(files(), 1U);
}

TEST_F(OutputFileTest, UnwritablePlacesFailBeforeAnyWork) {
  EXPECT_THROW(OutputFile(folder_ / "missing" / "image.png"), UsageError);
  EXPECT_THROW(OutputFile{folder_}, UsageError);
  EXPECT_EQ(files(), 0U);
}

TEST_F(OutputFileTest, PngHasTheImagesSizeAndColours) {
  JobRequest request;
  request.width = 64;
  request.height = 48;
  const JobSpec spec = resolve_job(request);
  const RunResult result = test::run_on({"threads"}, spec);
  std::ostringstream png;
  write_png(png, result.counts, spec.width, spec.height, spec.max_iter);
  const std::string bytes = png.str();
  ASSERT_GT(bytes.size(), 33U);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) |
           (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) |
           static_cast<unsigned char>(bytes[at + 3]);
  };
  EXPECT_EQ(be32(16), 64U);  // IHDR width
  EXPECT_EQ(be32(20), 48U);  // IHDR height

  // Decoded, every pixel is the colour map's colour of its count.
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_NE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()), 0)
      << image.message;
  image.format = PNG_FORMAT_RGB;
  ASSERT_EQ(image.width, 64U);
  ASSERT_EQ(image.height, 48U);
  std::vector<std::uint8_t> pixels(PNG_IMAGE_SIZE(image));
  ASSERT_NE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr), 0) << image.message;
  std::size_t black = 0;
  for (std::size_t i = 0; i < result.counts.size(); ++i) {
    const std::array<std::uint8_t, 3> decoded{pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]};
    ASSERT_EQ(decoded, colour_of(result.counts[i], spec.max_iter)) << "pixel " << i;
    if (result.counts[i] >= spec.max_iter) ++black;
  }
  EXPECT_GT(black, 0U);  // the seed view holds points inside the set
  EXPECT_LT(black, result.counts.size());
  EXPECT_THROW(write_png(png, result.counts, 10, 10, spec.max_iter), Error);
}

// Decodes a PNG into RGB bytes (libpng), checking its size.
std::vector<std::uint8_t> decoded_rgb(const std::string& bytes, std::int64_t width,
                                      std::int64_t height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  EXPECT_NE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()), 0)
      << image.message;
  image.format = PNG_FORMAT_RGB;
  EXPECT_EQ(image.width, static_cast<png_uint_32>(width));
  EXPECT_EQ(image.height, static_cast<png_uint_32>(height));
  std::vector<std::uint8_t> pixels(PNG_IMAGE_SIZE(image));
  EXPECT_NE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr), 0) << image.message;
  return pixels;
}

// An image of many strips (each deflated on its own thread, one zlib stream in all) decodes,
// with libpng, to the very colours asked for: counts through the colour map, and any pixel
// function.
TEST(Png, AnImageEncodedInStripsDecodesToItsColours) {
  const std::int64_t width = 301, height = 997;  // odd sizes, several strips of rows
  const std::uint32_t max_iter = 5000;
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(width * height));
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] = static_cast<std::uint32_t>((i * 2654435761U) % (max_iter + 7));  // past max too
  }
  std::ostringstream png;
  write_png(png, counts, width, height, max_iter);
  const std::vector<std::uint8_t> pixels = decoded_rgb(png.str(), width, height);
  ASSERT_EQ(pixels.size(), counts.size() * 3);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::array<std::uint8_t, 3> decoded{pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]};
    ASSERT_EQ(decoded, colour_of(counts[i], max_iter)) << "pixel " << i;
  }
  std::ostringstream gradient;
  write_rgb_png(gradient, width, height, [&](std::int64_t i) {
    return std::array<std::uint8_t, 3>{static_cast<std::uint8_t>(i % width),
                                       static_cast<std::uint8_t>(i / width),
                                       static_cast<std::uint8_t>(i * 7)};
  });
  const std::vector<std::uint8_t> decoded = decoded_rgb(gradient.str(), width, height);
  for (std::int64_t i = 0; i < width * height; ++i) {
    const auto at = static_cast<std::size_t>(3 * i);
    ASSERT_EQ(decoded[at], static_cast<std::uint8_t>(i % width)) << i;
    ASSERT_EQ(decoded[at + 1], static_cast<std::uint8_t>(i / width)) << i;
    ASSERT_EQ(decoded[at + 2], static_cast<std::uint8_t>(i * 7)) << i;
  }
}

// The colour map's fixed points: black inside the set, the palette's first, middle and last
// stops at t = 0, 0.5 and just below 1.
TEST(ColourMap, BlackInsideThePaletteOutside) {
  using Colour = std::array<std::uint8_t, 3>;
  EXPECT_EQ(colour_of(99, 99), (Colour{0, 0, 0}));
  EXPECT_EQ(colour_of(1000, 99), (Colour{0, 0, 0}));
  EXPECT_EQ(colour_of(0, 99), (Colour{0, 7, 100}));
  EXPECT_EQ(colour_of(9, 99), (Colour{237, 255, 255}));  // log 10 / log 100 = 0.5
  EXPECT_EQ(colour_of(98, 99), (Colour{2, 3, 0}));
}

}  // namespace
}  // namespace hetero

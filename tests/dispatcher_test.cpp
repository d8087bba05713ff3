// The dispatcher across nodes, its failure and stop paths, buffers, trace and output files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nodes/host_kernel.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

TEST(Dispatcher, NodesTogetherMatchSerialUnderEveryPolicy) {
  const std::vector<std::string> available = test::available_backends();
  JobRequest request;
  request.preset = "full";
  request.width = 90;
  request.height = 70;
  request.max_iter = 300;
  const JobSpec spec = resolve_job(request);
  const std::vector<std::uint32_t> reference = test::serial_counts(spec);
  // Every pair of available backends (host and device alike).
  for (std::size_t a = 0; a < available.size(); ++a) {
    for (std::size_t b = a + 1; b < available.size(); ++b) {
      for (const std::string_view policy : policy_names()) {
        const RunResult result =
            test::run_on({available[a], available[b]}, spec, parse_policy(policy), 113);
        EXPECT_EQ(result.counts, reference) << available[a] << "+" << available[b] << " " << policy;
        std::int64_t tiles = 0;
        for (const NodeReport& node : result.report.nodes) tiles += node.tiles;
        EXPECT_EQ(tiles, result.report.tiles);
      }
    }
  }
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
  void run(const Job&, WorkSource& work, std::span<std::uint32_t>, NodeTrace&) override {
    if (work.self_scheduling() ? work.next().has_value() : !work.assigned().empty()) {
      throw Error("injected fault");
    }
  }

 private:
  NodeInfo info_;
};

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

TEST(Registry, EveryDesignBackendIsListedBuiltOrNot) {
  const std::vector<std::string> names = NodeRegistry::builtin().names();
  for (const char* name :
       {"serial", "threads", "openmp", "simd", "kokkos", "opencl", "cuda", "thrust", "mpi"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

TEST(HostKernels, UnknownKernelNamesTheKnownOnes) {
  const Job job(resolve_job(JobRequest{}));
  EXPECT_NE(nodes::host_kernel("scalar", job), nullptr);
  try {
    nodes::host_kernel("magic", job);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("scalar"), std::string::npos);
  }
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
  for (const auto& event : document["traceEvents"]) {
    if (event["ph"] == "X") ++complete;
    if (event["ph"] == "M") processes.insert(event["args"]["name"].get<std::string>());
  }
  EXPECT_EQ(complete, static_cast<std::int64_t>(result.trace.events.size()));
  EXPECT_EQ(processes, (std::set<std::string>{"serial", "threads"}));
}

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
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
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  EXPECT_EQ(be32(16), 64U);  // IHDR width
  EXPECT_EQ(be32(20), 48U);  // IHDR height
  EXPECT_THROW(write_png(png, result.counts, 10, 10, spec.max_iter), Error);
}

}  // namespace
}  // namespace hetero

// Tests of the opencl node itself: device discovery and --device, kernel build failures, the copies
// it traces, and its link entry in the cache. Skipped with the reason when there is no OpenCL
// device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nodes/opencl/device.hpp"
#include "nodes/opencl/link_probe.hpp"
#include "nodes/opencl/node.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

namespace cl = nodes::opencl;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

class OpenCLTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Backend* backend = NodeRegistry::builtin().find("opencl");
    ASSERT_NE(backend, nullptr);
    if (!backend->built) GTEST_SKIP() << "opencl is not built: " << backend->not_built_reason;
    list_ = cl::list_devices();
    if (list_.devices.empty()) GTEST_SKIP() << "no OpenCL device: " << list_.problem;
  }
  const cl::DeviceSummary& first_device() const { return list_.devices.front(); }

  cl::DeviceList list_;
};
// The suite is named after the backend, so `ctest -R opencl` selects it with the generic tests.
using opencl = OpenCLTest;

TEST_F(opencl, EnumeratesEveryDeviceOfEveryPlatform) {
  const test::ScopedCacheHome cache;
  const Backend& backend = *NodeRegistry::builtin().find("opencl");
  ASSERT_TRUE(backend.enumerate);
  // Listing devices never measures a link: with an empty cache, none is known.
  for (const NodeInfo& info : backend.enumerate()) {
    EXPECT_FALSE(info.link.zero_copy);
    EXPECT_EQ(info.link.source, "not measured");
  }
  EXPECT_FALSE(std::filesystem::exists(cache.links_file()));
  for (const cl::DeviceSummary& device : list_.devices) cl::device_link(device);

  const std::vector<NodeInfo> infos = backend.enumerate();
  ASSERT_EQ(infos.size(), list_.devices.size());
  for (std::size_t i = 0; i < infos.size(); ++i) {
    const cl::DeviceSummary& device = list_.devices[i];
    EXPECT_EQ(infos[i].name, "opencl");
    EXPECT_EQ(infos[i].kind, NodeKind::device);
    EXPECT_NE(infos[i].device.find(device.name), std::string::npos) << infos[i].device;
    EXPECT_NE(infos[i].device.find(fmt::format("[{}]", device.index())), std::string::npos);
    EXPECT_FALSE(device.resource.empty());
    if (infos[i].available) {
      EXPECT_FALSE(infos[i].link.zero_copy);
      EXPECT_EQ(infos[i].link.source, "cache");
      EXPECT_GT(infos[i].link.to_host_bytes_per_s, 0.0);
    } else {
      EXPECT_FALSE(infos[i].reason.empty());
    }
    if (device.cpu) {
      EXPECT_EQ(device.resource, "host-cpu");
    }
  }
}

TEST_F(opencl, DeviceSelectorTakesAnIndexOrWholeWordsOfAName) {
  for (const cl::DeviceSummary& device : list_.devices) {
    const cl::DeviceSummary& by_index = cl::select_device(list_, device.index());
    EXPECT_EQ(by_index.index(), device.index());
    // A whole word of the name in another case matches, the first device so named.
    std::string word;
    for (const char c : device.name) {
      if (!std::isalnum(static_cast<unsigned char>(c))) {
        if (word.size() > 2) break;
        word.clear();
        continue;
      }
      word += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    ASSERT_GT(word.size(), 2U) << device.name;
    const cl::DeviceSummary& by_name = cl::select_device(list_, word);
    EXPECT_NE(lowercase(by_name.name).find(lowercase(word)), std::string::npos);
    // Part of a word is not a word: the last two characters of it match nothing.
    NodeOptions options;
    options.device = word.substr(word.size() - 2);
    EXPECT_FALSE(NodeRegistry::builtin().describe("opencl", options).available)
        << options.device << " picked a device of " << device.name;
  }
  const cl::DeviceSummary& default_device = cl::select_device(list_, "");
  const bool has_accelerator = std::any_of(list_.devices.begin(), list_.devices.end(),
                                           [](const cl::DeviceSummary& d) { return !d.cpu; });
  EXPECT_EQ(default_device.cpu, !has_accelerator);

  NodeOptions options;
  options.device = first_device().index();
  const auto node = NodeRegistry::builtin().create("opencl", options);
  EXPECT_NE(node->info().device.find(first_device().name), std::string::npos);
}

TEST_F(opencl, BadDeviceSelectorIsAUsageErrorNamingTheDevices) {
  // "5" is inside "avx512" of a CPU device's name, but not a word of it.
  for (const std::string selector : {"no-such-device-anywhere", "97:3", "0:", ":1", "5"}) {
    NodeOptions options;
    options.device = selector;
    EXPECT_FALSE(NodeRegistry::builtin().describe("opencl", options).available) << selector;
    try {
      NodeRegistry::builtin().create("opencl", options);
      ADD_FAILURE() << "--device '" << selector << "' was accepted";
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(selector), std::string::npos) << message;
      for (const cl::DeviceSummary& device : list_.devices) {
        EXPECT_NE(message.find(device.name), std::string::npos) << message;
        EXPECT_NE(message.find(device.index()), std::string::npos) << message;
      }
      EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    }
    EXPECT_THROW(nodes::OpenCLNode{options}, UsageError) << selector;
  }
}

TEST_F(opencl, KernelBuildFailureCarriesTheBuildLog) {
  const std::string broken =
      "__kernel void broken(__global int* out) { out[0] = hetero_undeclared_name; }";
  try {
    cl::build_source(first_device(), broken, "");
    FAIL() << "a kernel with an undeclared name was built";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("build failed"), std::string::npos) << message;
    EXPECT_NE(message.find("hetero_undeclared_name"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
  // Bad options fail the same way, naming them.
  try {
    cl::build_source(first_device(), "__kernel void k() {}", "-hetero-no-such-option");
    FAIL() << "an unknown build option was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("-hetero-no-such-option"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(cl::build_source(first_device(), "__kernel void k(__global int* o) { o[0] = 1; }",
                                   "-cl-std=CL1.2 -DHETERO_FMA=1"));
}

// Runs a 123x77 job in `precision` on the opencl node and checks its trace: each axis goes up
// once, each tile's counts come back on its own queue after its kernel, bytes add up.
void expect_traced_copies(Precision precision) {
  JobRequest request;
  request.width = 123;
  request.height = 77;
  request.precision = precision;
  const JobSpec spec = resolve_job(request);
  const RunResult result = test::run_on({"opencl"}, spec, Policy::dynamic, 97);
  const std::uint64_t real_bytes = precision == Precision::fp64 ? 8 : 4;

  std::map<std::int64_t, const TraceEvent*> computes, reads;
  int uploads = 0;
  std::uint64_t read_bytes = 0;
  for (const TraceEvent& event : result.trace.events) {
    EXPECT_LE(event.begin_ns, event.end_ns);
    EXPECT_GE(event.begin_ns, 0);
    EXPECT_LE(event.end_ns, result.trace.wall_ns);
    if (event.kind == EventKind::copy_to_device) {
      ++uploads;
      // The kernel's arguments 1 and 2: the column and the row axis.
      EXPECT_TRUE(event.label == "argument 1" || event.label == "argument 2") << event.label;
      EXPECT_EQ(event.bytes, (event.label == "argument 1" ? 123U : 77U) * real_bytes);
    } else if (event.kind == EventKind::copy_to_host) {
      EXPECT_EQ(event.label, "argument 3");  // the counts
      EXPECT_TRUE(reads.emplace(event.tile, &event).second) << "tile " << event.tile;
      read_bytes += event.bytes;
    } else if (event.kind == EventKind::compute) {
      computes.emplace(event.tile, &event);
    }
  }
  EXPECT_EQ(uploads, 2) << "each axis goes up once per job";
  // Each lane is one in-order queue: its events follow one another.
  std::map<std::int32_t, std::vector<const TraceEvent*>> lanes;
  for (const TraceEvent& event : result.trace.events) lanes[event.lane].push_back(&event);
  EXPECT_LE(lanes.size(), static_cast<std::size_t>(nodes::OpenCLNode::kQueues));
  for (auto& [lane, events] : lanes) {
    std::sort(events.begin(), events.end(),
              [](const TraceEvent* a, const TraceEvent* b) { return a->begin_ns < b->begin_ns; });
    for (std::size_t i = 1; i < events.size(); ++i) {
      EXPECT_LE(events[i - 1]->end_ns, events[i]->begin_ns) << "lane " << lane;
    }
  }
  EXPECT_EQ(read_bytes, static_cast<std::uint64_t>(spec.pixels()) * 4);
  ASSERT_EQ(reads.size(), computes.size());
  for (const auto& [tile, read] : reads) {
    ASSERT_TRUE(computes.count(tile)) << "tile " << tile;
    const TraceEvent& compute = *computes.at(tile);
    EXPECT_EQ(read->bytes, static_cast<std::uint64_t>(compute.pixels) * 4) << "tile " << tile;
    // Same in-order queue, device timestamps: the read starts after its kernel ends.
    EXPECT_GE(read->begin_ns, compute.end_ns) << "tile " << tile;
    EXPECT_EQ(read->lane, compute.lane) << "tile " << tile;
  }
  ASSERT_EQ(result.report.nodes.size(), 1U);
  EXPECT_EQ(result.report.nodes[0].bytes_to_host, static_cast<std::uint64_t>(spec.pixels()) * 4);
  EXPECT_EQ(result.report.nodes[0].bytes_to_device, (123U + 77U) * real_bytes);
  EXPECT_EQ(result.counts, test::reference_counts(spec)) << to_string(precision);
}

TEST_F(opencl, TraceHoldsTheAxesUploadAndEachTilesCountsWithTheirBytesFp32) {
  expect_traced_copies(Precision::fp32);
}

TEST_F(opencl, TraceHoldsTheAxesUploadAndEachTilesCountsWithTheirBytesFp64) {
  const cl::DeviceSummary& device = cl::select_device(list_, "");
  if (!device.fp64) GTEST_SKIP() << device.name << " has no fp64 (cl_khr_fp64)";
  expect_traced_copies(Precision::fp64);
}

TEST_F(opencl, CompletesEachTileOnceItsCountsAreOnTheHostAndStopsWhenAsked) {
  const JobSpec spec =
      test::region_job({-2.1, 0.7, -1.3, 1.1}, 257, 131, 400, Precision::fp32, Mode::fma);
  const Job job(spec);
  const std::vector<std::uint32_t> expected = test::reference_counts(spec);
  const std::vector<Tile> tiles = make_tiles(spec.pixels(), 1000);  // ragged: not whole rows
  const std::size_t stop_after = 3;
  nodes::OpenCLNode node{NodeOptions{}};
  for (const bool self_scheduling : {false, true}) {
    for (const std::size_t stop : {tiles.size(), stop_after}) {
      std::vector<std::uint32_t> counts(expected.size(), 0);
      test::CheckedWork work(tiles, self_scheduling, counts, expected, stop);
      const TraceClock clock;
      NodeTrace trace(&clock, 0);
      test::run_job_on(node, job, work, counts, trace);
      const std::string what = self_scheduling ? "self-scheduling" : "assigned";
      EXPECT_EQ(work.wrong_tiles(), 0U) << what;
      EXPECT_LE(*std::max_element(work.completions().begin(), work.completions().end()), 1) << what;
      if (stop == tiles.size()) {
        EXPECT_EQ(work.completed_count(), tiles.size()) << what;
        EXPECT_EQ(counts, expected) << what;
      } else {
        // The tiles in flight when the stop came are finished; no new one is started.
        EXPECT_GE(work.completed_count(), stop_after) << what;
        EXPECT_LE(work.completed_count(), stop_after + static_cast<std::size_t>(node.lanes()))
            << what;
      }
    }
  }
}

TEST_F(opencl, Fp64JobOnADeviceWithoutFp64IsRefusedInOneLine) {
  const auto it = std::find_if(list_.devices.begin(), list_.devices.end(),
                               [](const cl::DeviceSummary& d) { return !d.fp64; });
  if (it == list_.devices.end()) GTEST_SKIP() << "every OpenCL device here supports fp64";
  NodeOptions options;
  options.device = it->index();
  EXPECT_TRUE(NodeRegistry::builtin().describe("opencl", options).available);
  JobRequest request;
  request.width = 16;
  request.height = 16;
  try {
    test::run_on({"opencl"}, resolve_job(request), Policy::dynamic, 0, options);
    FAIL() << "an fp64 job ran on a device without fp64";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp64"), std::string::npos) << e.what();
  }
  request.precision = Precision::fp32;
  const JobSpec spec = resolve_job(request);
  EXPECT_EQ(test::run_on({"opencl"}, spec, Policy::dynamic, 0, options).counts,
            test::reference_counts(spec));
}

// A kernel with an implementation for each device type and one for any: the node runs the one
// for its device's type, here with several elements a work-item (the tile's range passed first)
// on ranges and tiles that are no multiple of them.
TEST_F(opencl, EachDeviceRunsTheImplementationForItsType) {
  const auto mark = [](int value, OpenCLDevice device, std::int64_t per_item) {
    // One element a work-item: the work-item's id is its element (the launch's offset is the
    // tile's begin); more: the id counts from the tile's begin in steps of `per_item`.
    const std::string first = per_item == 1
                                  ? "(long)get_global_id(0)"
                                  : fmt::format("begin + (long)get_global_id(0) * {}", per_item);
    const std::string source = fmt::format(R"(
__kernel void mark(const long begin, const long end, __global int* out) {{
  const long first = {1};
  for (long i = first; i < end && i < first + {2}; ++i) out[i] = {0};
}})",
                                           value, first, per_item);
    return backend::OpenCLImplementation{
        source, "mark", {.device = device, .elements_per_item = per_item, .tile_arguments = true}};
  };
  auto kernel = Kernel<Tile1D, View<std::int32_t>>("mark_by_device");
  for (const auto& implementation : {mark(3, OpenCLDevice::any, 1), mark(1, OpenCLDevice::gpu, 5),
                                     mark(2, OpenCLDevice::cpu, 4)}) {
    kernel.opencl(implementation.source, implementation.entry, implementation.options);
  }
  for (const cl::DeviceSummary& device : list_.devices) {
    RuntimeOptions options;
    options.nodes = {"opencl"};
    options.node_options.device = device.index();
    Runtime runtime(options);
    const std::int32_t expected = device.cpu ? 2 : 1;
    for (const std::int64_t tile : {1, 3, 7, 103}) {
      std::vector<std::int32_t> out(103, 0);
      LaunchOptions launch;
      launch.tile = tile;
      runtime.run(kernel, Grid1D{103}, write(out), launch);
      EXPECT_EQ(std::count(out.begin(), out.end(), expected), 103)
          << device.describe() << " tile " << tile;
    }
  }
}

// The Mandelbrot kernel's OpenCL implementations: vectors of pixels in chunks on CPU devices
// (kernels/opencl/mandelbrot_cpu.cl), one work-item per pixel on the others.
TEST_F(opencl, EachDeviceChoosesTheMandelbrotKernelForItsType) {
  for (const cl::DeviceSummary& device : list_.devices) {
    NodeOptions options;
    options.device = device.index();
    const nodes::OpenCLNode node(options);
    for (const Precision precision : {Precision::fp64, Precision::fp32}) {
      if (precision == Precision::fp64 && !device.fp64) continue;
      for (const Mode mode : {Mode::exact, Mode::fma}) {
        const auto definition = precision == Precision::fp64
                                    ? mandelbrot_kernel<double>(mode).definition()
                                    : mandelbrot_kernel<float>(mode).definition();
        const backend::OpenCLImplementation* chosen = node.implementation(*definition);
        const std::string what = fmt::format("{}: {}", device.describe(), definition->name);
        ASSERT_NE(chosen, nullptr) << what;
        if (device.cpu) {
          EXPECT_EQ(chosen->entry, "mandelbrot_counts_cpu") << what;
          EXPECT_EQ(chosen->options.device, OpenCLDevice::cpu) << what;
          EXPECT_GT(chosen->options.elements_per_item, 1) << what;
        } else {
          EXPECT_EQ(chosen->entry, "mandelbrot_counts") << what;
          EXPECT_EQ(chosen->options.elements_per_item, 1) << what;
        }
      }
    }
  }
}

// Tests of the CPU kernel: on the first CPU device, skipped when there is none.
class OpenCLCpuKernelTest : public OpenCLTest {
 protected:
  void SetUp() override {
    OpenCLTest::SetUp();
    if (IsSkipped()) return;
    const auto it = std::find_if(list_.devices.begin(), list_.devices.end(),
                                 [](const cl::DeviceSummary& d) { return d.cpu; });
    if (it == list_.devices.end()) GTEST_SKIP() << "no OpenCL CPU device here";
    device_ = &*it;
  }
  RuntimeOptions runtime_options() const {
    RuntimeOptions options;
    options.nodes = {"opencl"};
    options.node_options.device = device_->index();
    return options;
  }
  std::vector<Precision> precisions() const {
    if (device_->fp64) return {Precision::fp64, Precision::fp32};
    return {Precision::fp32};
  }

  const cl::DeviceSummary* device_ = nullptr;
};
using opencl_cpu_kernel = OpenCLCpuKernelTest;

using test::centred_job;
using test::preset_job;

// Regions chosen for what the kernel's rounds, blocks, replays and lanes must get right, each
// with the tile sizes to run it in (0: the runtime's own).
struct RegionCase {
  std::string name;
  JobSpec spec;
  std::vector<std::int64_t> tiles;
};

std::vector<RegionCase> region_cases(Precision p, Mode m) {
  const std::vector<std::int64_t> ragged = {0, 7, 1000, 1025};
  const std::vector<std::int64_t> tiny = {0, 1, 5, 17};
  return {
      // More pixels than many chunks of a work-item, rows no multiple of a vector, a limit no
      // multiple of a block or a round.
      {"full", preset_job("full", 211, 157, 777, p, m), ragged},
      // Seahorse valley, deep: long escape times, neighbours that differ a lot.
      {"deep-zoom",
       centred_job(-0.743643887037151, 0.131825904205330, 2e-10, 64, 48, 3000, p, m),
       {0, 1000}},
      // The tip c = -2: orbits that hover about |z| = 2 before they escape.
      {"tip", centred_job(-2.0, 0.0, 4e-7, 40, 40, 4000, p, m), {0, 333}},
      // The edges of the main cardioid and of the period-2 bulb.
      {"cardioid-edge", centred_job(0.25, 0.0, 0.02, 33, 33, 5000, p, m), {0, 100}},
      {"bulb-edge", centred_job(-0.75, 0.1, 0.02, 33, 33, 5000, p, m), {0, 100}},
      // Points that escape at iteration 0, and overflow to infinity and NaN after it.
      {"outside", test::region_job({2.5, 40.0, 2.0, 1e30}, 23, 19, 100, p, m), tiny},
      {"huge", test::region_job({-1e300, 1e300, -1e300, 1e300}, 9, 7, 50, p, m), tiny},
      // Limits below, at and just past the first round's, the blocks' and later rounds'.
      {"max-iter-1", preset_job("full", 45, 31, 1, p, m), {0, 1}},
      {"max-iter-2", preset_job("full", 45, 31, 2, p, m), {0, 7}},
      {"max-iter-3", preset_job("full", 45, 31, 3, p, m), {0, 7}},
      {"max-iter-31", preset_job("full", 45, 31, 31, p, m), {0, 7}},
      {"max-iter-32", preset_job("full", 45, 31, 32, p, m), {0, 7}},
      {"max-iter-33", preset_job("full", 45, 31, 33, p, m), {0, 7}},
      {"max-iter-97", preset_job("full", 45, 31, 97, p, m), {0, 7}},
      {"max-iter-128", preset_job("full", 45, 31, 128, p, m), {0, 7}},
      {"max-iter-129", preset_job("full", 45, 31, 129, p, m), {0, 7}},
      {"max-iter-513", preset_job("full", 45, 31, 513, p, m), {0, 7}},
      // Odd shapes: single pixels, single rows and columns, vectors that straddle rows.
      {"1x1", preset_job("full", 1, 1, 300, p, m), {0}},
      {"3x17", preset_job("full", 3, 17, 300, p, m), tiny},
      {"17x3", preset_job("full", 17, 3, 300, p, m), tiny},
      {"1x40", preset_job("full", 1, 40, 300, p, m), tiny},
  };
}

TEST_F(opencl_cpu_kernel, MatchesThePlainLoopOnRegionsMadeToStressIt) {
  Runtime runtime(runtime_options());
  for (const Precision precision : precisions()) {
    for (const Mode mode : {Mode::exact, Mode::fma}) {
      for (const RegionCase& region : region_cases(precision, mode)) {
        const std::vector<std::uint32_t> expected = test::reference_counts(region.spec);
        const Job job(region.spec);
        for (const std::int64_t tile : region.tiles) {
          std::vector<std::uint32_t> counts(expected.size(), 0xDEADBEEFU);
          LaunchOptions launch;
          launch.tile = tile;
          const LaunchResult result = run_mandelbrot(runtime, job, counts, launch);
          EXPECT_EQ(counts, expected) << region.name << " " << to_string(precision) << " "
                                      << to_string(mode) << " tile " << tile;
          EXPECT_EQ(result.report.checksum, checksum(expected)) << region.name;
        }
      }
    }
  }
}

// Axes the jobs refuse, through the kernel itself: a NaN never escapes (it counts the limit), an
// infinity escapes at once; at lanes across vectors and rows, with limits from 0 up.
template <class Real>
void expect_nan_and_infinity_agree(Runtime& runtime, Mode mode) {
  const Real nan = std::numeric_limits<Real>::quiet_NaN();
  const Real inf = std::numeric_limits<Real>::infinity();
  std::vector<Real> xs;
  for (int i = 0; i < 37; ++i) xs.push_back(Real(-2.1) + Real(i) * Real(0.075));
  for (const std::size_t lane : {0, 7, 8, 15, 16, 31, 36}) xs[lane] = nan;
  xs[3] = inf;
  xs[17] = -inf;
  const std::vector<Real> ys = {Real(0), nan, Real(0.3), inf, Real(-0.7), -inf, Real(0.05)};
  const auto width = static_cast<std::int64_t>(xs.size());
  const std::int64_t pixels = width * static_cast<std::int64_t>(ys.size());
  for (const std::uint32_t max_iter : {0U, 1U, 2U, 3U, 33U, 1000U}) {
    std::vector<std::uint32_t> expected;
    for (const Real y : ys) {
      for (const Real x : xs) expected.push_back(test::plain_point<Real>(x, y, max_iter, mode));
    }
    for (const std::int64_t tile : {std::int64_t{0}, std::int64_t{5}, std::int64_t{40}}) {
      std::vector<std::uint32_t> counts(static_cast<std::size_t>(pixels), 0xDEADBEEFU);
      LaunchOptions launch;
      launch.tile = tile;
      runtime.run(mandelbrot_kernel<Real>(mode), Grid1D{pixels}, read(std::span<const Real>(xs)),
                  read(std::span<const Real>(ys)), write(counts), width, max_iter, launch);
      EXPECT_EQ(counts, expected) << (sizeof(Real) == 8 ? "fp64 " : "fp32 ") << to_string(mode)
                                  << " max_iter " << max_iter << " tile " << tile;
    }
  }
}

TEST_F(opencl_cpu_kernel, NaNCountsTheLimitAndInfinityEscapesAtOnce) {
  Runtime runtime(runtime_options());
  for (const Mode mode : {Mode::exact, Mode::fma}) {
    if (device_->fp64) expect_nan_and_infinity_agree<double>(runtime, mode);
    expect_nan_and_infinity_agree<float>(runtime, mode);
  }
}

// Counts larger than the device's memory cap: tiles run in pieces, each kernel writing through
// its window's origin.
TEST_F(opencl_cpu_kernel, RunsInPiecesWhenTheCountsDoNotFit) {
  RuntimeOptions options = runtime_options();
  options.node_options.memory.bytes = 24 * 1024;  // the axes, and pieces of a few thousand counts
  Runtime runtime(options);
  for (const Precision precision : precisions()) {
    const JobSpec spec = test::region_job({-2.0, 0.6, -1.2, 1.2}, 251, 173, 500, precision);
    const std::vector<std::uint32_t> expected = test::reference_counts(spec);
    std::vector<std::uint32_t> counts(expected.size(), 0xDEADBEEFU);
    LaunchOptions launch;
    launch.tile = 20000;
    const LaunchResult result = run_mandelbrot(runtime, Job(spec), counts, launch);
    EXPECT_EQ(counts, expected) << to_string(precision);
    ASSERT_EQ(result.report.nodes.size(), 1U);
    EXPECT_GT(result.report.nodes[0].pieces, result.report.nodes[0].tiles) << to_string(precision);
  }
}

TEST_F(opencl, MemoryIsCappedAtNinetyPercentOfFreeMemoryUnlessGiven) {
  const cl::DeviceSummary& device = cl::select_device(list_, "");
  ASSERT_GT(device.free_memory_bytes, 0U);
  EXPECT_LE(device.free_memory_bytes, device.global_memory_bytes);
  nodes::OpenCLNode node{NodeOptions{}};
  EXPECT_EQ(node.memory_space()->limit(),
            static_cast<std::uint64_t>(static_cast<double>(device.free_memory_bytes) * 0.9));
  NodeOptions options;
  options.memory.fraction = 0.25;
  EXPECT_EQ(nodes::OpenCLNode(options).memory_space()->limit(),
            static_cast<std::uint64_t>(static_cast<double>(device.free_memory_bytes) * 0.25));
  options.memory.bytes = 12345;
  EXPECT_EQ(nodes::OpenCLNode(options).memory_space()->limit(), 12345U);
}

TEST_F(opencl, LinkIsMeasuredOnceThenReadFromTheCache) {
  const test::ScopedCacheHome cache;
  const cl::DeviceSummary& device = first_device();
  const Link measured = cl::device_link(device);
  EXPECT_EQ(measured.source, "probe");
  EXPECT_FALSE(measured.zero_copy);
  EXPECT_GT(measured.to_device_bytes_per_s, 0.0);
  EXPECT_GT(measured.to_host_bytes_per_s, 0.0);
  EXPECT_GT(measured.to_device_latency_s, 0.0);
  EXPECT_GT(measured.to_host_latency_s, 0.0);
  ASSERT_TRUE(std::filesystem::exists(cache.links_file()));

  const auto json = nlohmann::json::parse(test::read_text(cache.links_file()));
  const auto& entry = json["links"][cl::link_identity(device).key()];
  EXPECT_EQ(entry["device"], device.name);
  EXPECT_EQ(entry["driver"], device.driver);
  EXPECT_FALSE(entry["to_host"]["pinned_bytes_per_s"].empty());
  EXPECT_FALSE(entry["to_device"]["pageable_bytes_per_s"].empty());

  const Link cached = cl::device_link(device);
  EXPECT_EQ(cached.source, "cache");
  EXPECT_EQ(cached.to_device_bytes_per_s, measured.to_device_bytes_per_s);
  EXPECT_EQ(cached.to_host_bytes_per_s, measured.to_host_bytes_per_s);
  EXPECT_EQ(cached.to_device_latency_s, measured.to_device_latency_s);
  EXPECT_EQ(cached.to_host_latency_s, measured.to_host_latency_s);
  NodeOptions options;
  options.device = device.index();
  EXPECT_EQ(NodeRegistry::builtin().describe("opencl", options).link.source, "cache");

  // The backend's probe measures anew and refreshes the cache.
  const Backend& backend = *NodeRegistry::builtin().find("opencl");
  ASSERT_TRUE(backend.probe);
  const Link probed = backend.probe(options);
  EXPECT_EQ(probed.source, "probe");
  const Link refreshed = cl::device_link(device);
  EXPECT_EQ(refreshed.source, "cache");
  EXPECT_EQ(refreshed.to_host_bytes_per_s, probed.to_host_bytes_per_s);
}

TEST_F(opencl, CorruptOrMismatchingCacheIsReportedAndMeasuredAgain) {
  const test::ScopedCacheHome cache;
  const cl::DeviceSummary& device = first_device();
  std::filesystem::create_directories(cache.links_file().parent_path());
  std::ofstream(cache.links_file()) << "{ \"links\": { this is not json";

  Link recovered;
  const std::string reported = test::log_of([&] { recovered = cl::device_link(device); });
  EXPECT_EQ(recovered.source, "probe");
  EXPECT_NE(reported.find("corrupt"), std::string::npos) << reported;
  EXPECT_NE(reported.find(cache.links_file().string()), std::string::npos) << reported;
  EXPECT_EQ(cl::device_link(device).source, "cache") << "the cache was rewritten";

  // An entry under the device's key that describes another driver does not count.
  auto json = nlohmann::json::parse(test::read_text(cache.links_file()));
  json["links"][cl::link_identity(device).key()]["driver"] = "hetero-test-driver 0.0";
  std::ofstream(cache.links_file(), std::ios::trunc) << json.dump();
  const std::string mismatch =
      test::log_of([&] { EXPECT_EQ(cl::device_link(device).source, "probe"); });
  EXPECT_NE(mismatch.find("does not match"), std::string::npos) << mismatch;
  EXPECT_EQ(cl::device_link(device).source, "cache");

  // Figures that are not positive numbers are corrupt too; other entries are kept on rewrite.
  json = nlohmann::json::parse(test::read_text(cache.links_file()));
  json["links"][cl::link_identity(device).key()]["to_host"]["latency_s"] = -1;
  json["links"]["other|entry"] = {{"backend", "other"}};
  std::ofstream(cache.links_file(), std::ios::trunc) << json.dump();
  const std::string corrupt =
      test::log_of([&] { EXPECT_EQ(cl::device_link(device).source, "probe"); });
  EXPECT_NE(corrupt.find("corrupt"), std::string::npos) << corrupt;
  json = nlohmann::json::parse(test::read_text(cache.links_file()));
  EXPECT_TRUE(json["links"].contains("other|entry"));
  EXPECT_GT(json["links"][cl::link_identity(device).key()]["to_host"]["latency_s"].get<double>(),
            0);
}

}  // namespace
}  // namespace hetero

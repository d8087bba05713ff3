// The heat workload: the same final field, bit for bit, on every node and split; after the first
// step only halo rows cross a link; bad specs are one-line errors.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "hetero/hetero.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

// The plain loop: `steps` Jacobi steps of the same arithmetic.
std::vector<float> heat_by_hand(std::int64_t width, std::int64_t height, std::int64_t steps) {
  std::vector<float> from = heat_initial_field(width, height), to(from.size());
  for (std::int64_t step = 0; step < steps; ++step) {
    for (std::int64_t y = 0; y < height; ++y) {
      for (std::int64_t x = 0; x < width; ++x) {
        const auto i = static_cast<std::size_t>(y * width + x);
        const float u = from[i];
        if (x == 0 || y == 0 || x == width - 1 || y == height - 1) {
          to[i] = u;
          continue;
        }
        const auto w = static_cast<std::size_t>(width);
        const float sum = from[i - 1] + from[i + 1] + from[i - w] + from[i + w];
        to[i] = u + kHeatAlpha * (sum - 4.0F * u);
      }
    }
    std::swap(from, to);
  }
  return from;
}

bool available(const std::string& name) {
  return NodeRegistry::builtin().describe(name).available;
}

Runtime runtime_of(const std::vector<std::string>& names) {
  RuntimeOptions options;
  for (const std::string& name : names) options.exact_nodes.push_back({name, {}});
  return Runtime(options);
}

TEST(Heat, GivesTheSameFieldOnEveryNodeAndSplitAsThePlainLoop) {
  const HeatSpec spec{.width = 61, .height = 47, .steps = 25};
  const std::vector<float> expected = heat_by_hand(spec.width, spec.height, spec.steps);
  const Checksum expected_checksum = field_checksum(expected);
  const std::vector<std::vector<std::string>> node_sets{{"serial"},
                                                        {"threads"},
                                                        {"openmp"},
                                                        {"kokkos"},
                                                        {"opencl"},
                                                        {"simd"},
                                                        {"serial", "threads"},
                                                        {"threads", "opencl"},
                                                        {"serial", "threads", "opencl"}};
  int ran = 0;
  for (const auto& names : node_sets) {
    if (!std::all_of(names.begin(), names.end(), available)) continue;
    ++ran;
    Runtime runtime = runtime_of(names);
    for (const Policy policy : {Policy::static_split, Policy::dynamic}) {
      LaunchOptions options;
      options.policy = policy;
      options.tile = 4 * spec.width;
      const HeatResult result = run_heat(runtime, spec, options);
      EXPECT_EQ(result.field, expected) << names.size() << " nodes from " << names.front();
      EXPECT_EQ(result.report.checksum, expected_checksum);
      EXPECT_EQ(result.report.iterations,
                static_cast<std::uint64_t>(spec.width * spec.height * spec.steps));
    }
  }
  EXPECT_GE(ran, 4);
}

TEST(Heat, AfterTheFirstStepOnlyHaloRowsCrossTheLink) {
  if (!available("opencl")) GTEST_SKIP() << "opencl is unavailable";
  const HeatSpec spec{.width = 64, .height = 40, .steps = 6};
  Runtime runtime = runtime_of({"threads", "opencl"});
  LaunchOptions bands;  // static, with given shares: each node keeps its band of rows
  bands.policy = Policy::static_split;
  bands.shares = {1, 1};
  bands.tile = 4 * spec.width;
  const HeatResult result = run_heat(runtime, spec, bands);
  const std::uint64_t row = spec.width * sizeof(float);
  ASSERT_EQ(result.step_transfers.size(), 6U);
  // Step 1 copies the device's band in; from then on, its band's edge row inside the grid comes
  // in as halo, and its own edge row goes back for the host node's halo.
  EXPECT_GT(result.step_transfers[0][1].read_miss, 0U);
  for (std::size_t step = 1; step < result.step_transfers.size(); ++step) {
    const TransferBytes& host = result.step_transfers[step][0];
    const TransferBytes& device = result.step_transfers[step][1];
    EXPECT_EQ(device.read_miss, 0U) << "step " << step + 1;
    EXPECT_EQ(device.halo, row) << "step " << step + 1;
    EXPECT_EQ(host.write_back, row) << "step " << step + 1;
    EXPECT_EQ(host.read_miss + host.halo + device.write_back, 0U) << "step " << step + 1;
  }
  EXPECT_EQ(result.field, heat_by_hand(spec.width, spec.height, spec.steps));
}

TEST(Heat, RowsMoveFromANodeThatLagsAndTheFieldStaysTheSame) {
  const HeatSpec spec{.width = 64, .height = 256, .steps = 12};
  Runtime runtime = runtime_of({"serial", "threads"});
  LaunchOptions options;
  options.policy = Policy::static_split;
  options.tile = 8 * spec.width;                     // 32 bands of 8 rows
  options.faults = {{.node = 0, .delay_us = 4000}};  // serial: 4 ms more per band
  const HeatResult result = run_heat(runtime, spec, options);
  EXPECT_EQ(result.field, heat_by_hand(spec.width, spec.height, spec.steps));
  ASSERT_EQ(result.step_rows.size(), 12U);
  // Shares follow the lanes at first; after three steps measured, serial's rows go to threads.
  const std::int64_t first = result.step_rows.front()[0], last = result.step_rows.back()[0];
  EXPECT_LT(last, first) << "serial kept " << last << " of its " << first << " rows";
  EXPECT_EQ(result.step_rows.back()[0] + result.step_rows.back()[1], spec.height);
  EXPECT_TRUE(std::any_of(
      result.report.notes.begin(), result.report.notes.end(),
      [](const std::string& note) { return note.find("rows moved") != std::string::npos; }));
}

// Heat on serial (4 ms slower per band) and threads, serial given a link of `bytes_per_s` in
// place of its own zero-copy one: its rows move only when the steps left gain more than moving
// them over that link costs.
HeatResult lagging_heat_over_link(double bytes_per_s) {
  const HeatSpec spec{.width = 64, .height = 256, .steps = 12};
  Link link;
  link.zero_copy = false;
  link.source = "test";
  link.to_device_bytes_per_s = link.to_host_bytes_per_s = bytes_per_s;
  RuntimeOptions options;
  options.exact_nodes = {{"serial", {.link = link}}, {"threads", {}}};
  Runtime runtime(options);
  LaunchOptions launch;
  launch.policy = Policy::static_split;
  launch.tile = 8 * spec.width;
  launch.faults = {{.node = 0, .delay_us = 4000}};
  HeatResult result = run_heat(runtime, spec, launch);
  EXPECT_EQ(result.field, heat_by_hand(spec.width, spec.height, spec.steps));
  return result;
}

// The "rows moved" note's figures: the rows serial gave up and the seconds the move gains.
std::optional<std::pair<double, double>> move_of(const HeatResult& result) {
  for (const std::string& note : result.report.notes) {
    double from = 0, to = 0, gain = 0;
    const auto at = note.find("(serial ");
    const auto gained = note.find("): ");
    if (note.find("rows moved") == std::string::npos || at == std::string::npos ||
        gained == std::string::npos ||
        std::sscanf(note.c_str() + at, "(serial %lf -> %lf", &from, &to) != 2 ||
        std::sscanf(note.c_str() + gained, "): %lf s gained", &gain) != 1) {
      continue;
    }
    return std::pair{from - to, gain};
  }
  return std::nullopt;
}

// The crossover: a link fast enough that the move pays shows it, and its gain gives the
// bandwidth at which moving those rows would cost just as much. Ten times above it the rows
// move; ten times below, they stay, and no note says they moved.
TEST(Heat, RowsMoveOnlyWhenTheLinkMakesTheMovePay) {
  const std::optional<std::pair<double, double>> fast = move_of(lagging_heat_over_link(1e12));
  ASSERT_TRUE(fast) << "on a fast link, serial's rows move";
  const auto [rows, gain] = *fast;
  ASSERT_GT(rows, 0);
  ASSERT_GT(gain, 0);
  const double crossover = rows * 64 * sizeof(float) / gain;  // bytes per second
  EXPECT_TRUE(move_of(lagging_heat_over_link(10 * crossover))) << "crossover " << crossover;
  const HeatResult slow = lagging_heat_over_link(crossover / 10);
  EXPECT_FALSE(move_of(slow)) << "crossover " << crossover;
  EXPECT_EQ(slow.step_rows.front()[0], slow.step_rows.back()[0]) << "serial kept its band";
}

TEST(Heat, ARunResumedFromItsCheckpointEndsWithTheUninterruptedField) {
  const auto file = std::filesystem::temp_directory_path() / "hetero-heat-checkpoint.bin";
  std::filesystem::remove(file);
  const HeatSpec spec{.width = 40, .height = 30, .steps = 10};
  Runtime runtime = runtime_of({"threads"});
  run_heat(runtime, spec, {}, {.file = file, .every = 4});
  const HeatCheckpoint written = read_heat_checkpoint(file);
  EXPECT_EQ(written.step, 8);
  EXPECT_EQ(written.field, heat_by_hand(spec.width, spec.height, 8));

  HeatSpec longer = spec;
  longer.steps = 16;
  const HeatResult resumed = run_heat(runtime, longer, {}, {.file = file, .resume = true});
  EXPECT_EQ(resumed.first_step, 8);
  EXPECT_EQ(resumed.step_transfers.size(), 8U);
  EXPECT_EQ(resumed.field, heat_by_hand(spec.width, spec.height, 16));

  // A stop keeps the last complete step.
  std::atomic<bool> stop{true};
  LaunchOptions stopped;
  stopped.stop = &stop;
  EXPECT_THROW(run_heat(runtime, spec, stopped, {.file = file}), Cancelled);
  EXPECT_EQ(read_heat_checkpoint(file).step, 0);
  EXPECT_EQ(run_heat(runtime, spec, {}, {.file = file, .resume = true}).field,
            heat_by_hand(spec.width, spec.height, spec.steps));

  // Another grid, a damaged file, something else entirely: one line each.
  test::expect_one_line_error(
      [&] {
        run_heat(runtime, HeatSpec{.width = 41, .height = 30, .steps = 10}, {},
                 {.file = file, .resume = true});
      },
      {"is of a 40x30 grid, not 41x30"});
  {
    std::fstream damage(file, std::ios::in | std::ios::out | std::ios::binary);
    damage.seekp(100);
    damage.put('\x7f');
  }
  test::expect_one_line_error([&] { read_heat_checkpoint(file); }, {"is damaged"});
  std::ofstream(file) << "not a checkpoint";
  test::expect_one_line_error([&] { read_heat_checkpoint(file); }, {"is not a heat checkpoint"});
  std::filesystem::remove(file);
  test::expect_one_line_error([&] { read_heat_checkpoint(file); }, {"cannot read the checkpoint"});
}

TEST(Heat, BadSpecsAreOneLineErrors) {
  test::expect_one_line_error([] { validate(HeatSpec{.width = 2, .height = 10, .steps = 1}); },
                              {"--size 2x10", "at least 3x3"});
  test::expect_one_line_error([] { validate(HeatSpec{.width = 8, .height = 8, .steps = 0}); },
                              {"--steps 0", "give 1 to"});
  test::expect_one_line_error(
      [] { validate(HeatSpec{.width = 8, .height = 8, .steps = HeatSpec::kMaxSteps + 1}); },
      {"--steps"});
  test::expect_one_line_error(
      [] { validate(HeatSpec{.width = 1 << 30, .height = 1 << 30, .steps = 1}); },
      {"--size 1073741824x1073741824", "use a smaller grid"});
}

}  // namespace
}  // namespace hetero

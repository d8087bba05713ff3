// Registered arrays (hetero::Array): block geometry, the MSI states of their copies, and what
// crosses a link when kernels run on host and device nodes: only stale blocks, halos as rows,
// nothing between kernels that keep data on one device, every byte counted by cause.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "test_kernels.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

using backend::ArrayRecord;
using backend::BlockRun;

// ---------------------------------------------------------------------------------------------
// The record alone, with replicas that only log what they copy back.

struct LoggingReplica final : backend::Replica {
  std::vector<BlockRun>* copied;
  explicit LoggingReplica(std::vector<BlockRun>* log) : copied(log) {}
  std::string_view space_name() const override { return "logging"; }
  void copy_to_host(const ArrayRecord&, BlockRun run) override { copied->push_back(run); }
};

TEST(ArrayRecord, BlocksAreRowsIn2DAnd64KiBIn1DOrA64thOfASmallerArray) {
  EXPECT_EQ(Array<float>(1 << 20).record()->block_extent(), 16384);
  EXPECT_EQ(Array<float>(1 << 20).record()->blocks(), 64);
  EXPECT_EQ(Array<double>(1 << 21).record()->block_extent(), 8192);
  EXPECT_EQ(Array<double>(1 << 21).record()->blocks(), 256);
  EXPECT_EQ(Array<float>(1000).record()->block_extent(), 16);
  EXPECT_EQ(Array<float>(1000).record()->blocks(), 63);
  const Array2D<float> image(100, 7);
  EXPECT_EQ(image.record()->block_extent(), 1);
  EXPECT_EQ(image.record()->blocks(), 7);
  const Array2D<float> pitched(10, 4, 16, "pitched");
  const ArrayRecord& record = *pitched.record();
  EXPECT_EQ(record.offset_of({1, 2}), 16 * 4U);
  EXPECT_EQ(record.span_of({1, 2}), (16 + 10) * 4U);
  EXPECT_EQ(record.payload_of({1, 2}), 2 * 10 * 4U);
}

TEST(ArrayRecord, AWriteInOneSpaceInvalidatesTheOthersAndAReadThereCopiesOnlyThoseBlocks) {
  const Array<float> array(1024);  // 64 blocks of 16 elements
  ArrayRecord& record = *array.record();
  const int a = 0, b = 0;
  std::vector<BlockRun> copied_from_a, copied_from_b;
  record.attach(&a, std::make_unique<LoggingReplica>(&copied_from_a));
  record.attach(&b, std::make_unique<LoggingReplica>(&copied_from_b));

  EXPECT_EQ(record.claim_for_read(&a, record.all_blocks(), nullptr),
            (std::vector<BlockRun>{{0, 64}}));
  EXPECT_TRUE(record.claim_for_read(&a, record.all_blocks(), nullptr).empty());

  record.mark_written(&a, {8, 4});
  EXPECT_EQ(record.claim_for_read(&b, {0, 64}, nullptr), (std::vector<BlockRun>{{0, 64}}));
  EXPECT_EQ(copied_from_a, (std::vector<BlockRun>{{8, 4}}));
  EXPECT_TRUE(record.claim_for_read(&a, {0, 64}, nullptr).empty());

  // Adjacent blocks written apart go back, and come in, as one copy.
  record.mark_written(&b, {3, 2});
  record.mark_written(&b, {5, 1});
  EXPECT_EQ(record.claim_for_read(&a, {0, 64}, nullptr), (std::vector<BlockRun>{{3, 3}}));
  EXPECT_EQ(copied_from_b, (std::vector<BlockRun>{{3, 3}}));
  EXPECT_EQ(array.transfers().to_host_by(TransferCause::write_back), (4 + 3) * 16 * 4U);

  // The host writing makes every replica stale; a space going away writes its blocks back.
  record.mark_written(ArrayRecord::kHost, {0, 1});
  EXPECT_EQ(record.claim_for_read(&a, {0, 2}, nullptr), (std::vector<BlockRun>{{0, 1}}));
  record.mark_written(&a, {10, 1});
  record.detach(&a, nullptr);
  EXPECT_EQ(copied_from_a.back(), (BlockRun{10, 1}));
  EXPECT_EQ(record.replica(&a), nullptr);
  EXPECT_EQ(record.claim_for_read(&b, {10, 1}, nullptr), (std::vector<BlockRun>{{10, 1}}));
}

// ---------------------------------------------------------------------------------------------
// Kernels over registered arrays.

// x[i] += 1.
constexpr auto increment_loop = [](Tile1D tile, View<float> x) {
  for (std::int64_t i = tile.begin; i < tile.end; ++i) x[i] += 1.0F;
};

const auto& increment_kernel() {
  static const auto kernel =
      test::suite_kernel(Kernel<Tile1D, View<float>>("increment"), increment_loop,
                         HETERO_TEST_CUDA_LAUNCHER(increment))
          .opencl(R"(
__kernel void increment(__global float* x) { x[get_global_id(0)] += 1.0f; })",
                  "increment");
  return kernel;
}

const auto& scale_kernel() {
  static const auto kernel = test::suite_kernel(
                                 Kernel<Tile1D, View<const float>, View<float>, float>("scale"),
                                 [](Tile1D tile, View<const float> in, View<float> out, float a) {
                                   for (std::int64_t i = tile.begin; i < tile.end; ++i)
                                     out[i] = a * in[i];
                                 },
                                 HETERO_TEST_CUDA_LAUNCHER(scale))
                                 .opencl(R"(
__kernel void scale(__global const float* in, __global float* out, float a) {
  const size_t i = get_global_id(0);
  out[i] = a * in[i];
})",
                                         "scale");
  return kernel;
}

// out[i] = in[n - 1 - i]: every tile reads the whole of `in`.
const auto& reverse_kernel() {
  static const auto kernel =
      test::suite_kernel(
          Kernel<Tile1D, View<const float>, View<float>, std::int64_t>("reverse"),
          [](Tile1D tile, View<const float> in, View<float> out, std::int64_t n) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = in[n - 1 - i];
          },
          HETERO_TEST_CUDA_LAUNCHER(reverse))
          .opencl(R"(
__kernel void reverse(__global const float* in, __global float* out, long n) {
  const size_t i = get_global_id(0);
  out[i] = in[n - 1 - i];
})",
                  "reverse");
  return kernel;
}

void fill_iota(Array<float>& array) {
  auto host = array.acquire_write();
  std::iota(host.view().begin(), host.view().end(), 0.0F);
}

bool opencl_available() {
  return NodeRegistry::builtin().describe("opencl").available;
}

RuntimeOptions on(std::vector<std::string> nodes) {
  RuntimeOptions options;
  for (std::string& name : nodes) options.exact_nodes.push_back({std::move(name), {}});
  return options;
}

TEST(Array, OnHostNodesKernelsWorkInTheHostCopyAndMoveNoBytes) {
  Runtime runtime(on({"threads"}));
  Array<float> in(5000), middle(5000), out(5000);
  fill_iota(in);
  runtime.run(scale_kernel(), Grid1D{5000}, read_slice(in), write(middle), 2.0F);
  runtime.run(reverse_kernel(), Grid1D{5000}, read(middle), write(out), std::int64_t{5000});
  const auto result = out.acquire_read();
  for (std::int64_t i = 0; i < 5000; ++i) ASSERT_EQ(result[i], 2.0F * static_cast<float>(4999 - i));
  EXPECT_EQ(in.transfers().total() + middle.transfers().total() + out.transfers().total(), 0U);
}

// Registered arrays on each device node: OpenCL's, Thrust's OpenMP system (everywhere), and
// CUDA's where a GPU is. They share the device pipeline; each says only how it copies.
class ArrayOnDevice : public test::OnEachNode {
 protected:
  // This node alone, its memory capped at `bytes`.
  RuntimeOptions capped_at(std::uint64_t bytes) const {
    RuntimeOptions options;
    NodeOptions capped;
    capped.memory.bytes = bytes;
    options.exact_nodes = {{node(), capped}};
    return options;
  }
};

TEST_P(ArrayOnDevice, AHaloReadCopiesOnlyTheHaloRowsAndARepeatedReadCopiesNothing) {
  const std::int64_t width = 64, height = 48;
  Runtime runtime(on({node()}));
  Array2D<float> in(width, height), out(width, height);
  {
    auto host = in.acquire_write();
    for (std::int64_t y = 0; y < height; ++y) {
      for (std::int64_t x = 0; x < width; ++x) host.view().data[y * width + x] = float(x * y % 17);
    }
  }
  LaunchOptions rows_of_six;
  rows_of_six.tile = 6 * width;
  const LaunchResult first = runtime.run(test::blur_kernel(), Grid2D{width, height},
                                         read_halo(in, 1), write(out), width, height, rows_of_six);
  const std::size_t row = width * sizeof(float);
  const std::uint64_t tiles = static_cast<std::uint64_t>(first.report.tiles);
  ASSERT_EQ(tiles, 8U);
  // Every row once: a tile's lower halo row is the next tile's first, which it then holds.
  EXPECT_EQ(in.transfers().to_device_by(TransferCause::halo), (tiles - 1) * row);
  EXPECT_EQ(in.transfers().to_device_by(TransferCause::read_miss), (height - (tiles - 1)) * row);
  EXPECT_EQ(first.report.nodes[0].transfers.halo, (tiles - 1) * row);
  // Results stay on the device: nothing came back yet.
  EXPECT_EQ(out.transfers().total(), 0U);
  EXPECT_EQ(first.report.nodes[0].bytes_to_host, 0U);

  const LaunchResult again = runtime.run(test::blur_kernel(), Grid2D{width, height},
                                         read_halo(in, 1), write(out), width, height, rows_of_six);
  EXPECT_EQ(again.report.nodes[0].bytes_to_device, 0U);
  EXPECT_EQ(in.transfers().to_device_by(TransferCause::read_miss) +
                in.transfers().to_device_by(TransferCause::halo),
            height * row);

  const auto source = in.acquire_read();
  const auto result = out.acquire_read();
  EXPECT_EQ(out.transfers().to_host_by(TransferCause::write_back), height * row);
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      ASSERT_EQ(result.view().data[y * width + x],
                test::blur_at(source.view().data, width, height, x, y))
          << x << "," << y;
    }
  }
}

TEST_P(ArrayOnDevice, AnIntermediateArrayStaysOnTheDeviceBetweenKernels) {
  const std::int64_t n = 100000;
  Runtime runtime(on({node()}));
  Array<float> in(n), middle(n), out(n);
  fill_iota(in);
  runtime.run(scale_kernel(), Grid1D{n}, read_slice(in), write(middle), 3.0F);
  const LaunchResult second = runtime.run(reverse_kernel(), Grid1D{n}, read(middle), write(out), n);
  EXPECT_EQ(middle.transfers().total(), 0U);
  EXPECT_EQ(second.report.nodes[0].bytes_to_device + second.report.nodes[0].bytes_to_host, 0U);
  const auto result = out.acquire_read();
  EXPECT_EQ(out.transfers().to_host_by(TransferCause::write_back), n * sizeof(float));
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(result[i], 3.0F * static_cast<float>(n - 1 - i));
}

TEST_P(ArrayOnDevice, AWriteOnOneNodeInvalidatesTheOthersReplicaAndTheNextReadCopiesThoseBlocks) {
  const std::int64_t n = 1 << 16;  // 64 blocks of 1024 elements
  Runtime runtime(on({node(), node()}));
  Array<float> x(n), out(n);
  fill_iota(x);
  LaunchOptions split;
  split.policy = Policy::static_split;
  runtime.run(reverse_kernel(), Grid1D{n}, read(x), write(out), n, split);
  const std::size_t bytes = n * sizeof(float);
  EXPECT_EQ(x.transfers().to_device_by(TransferCause::read_miss), 2 * bytes);

  // Each node writes its own part: its copy of the other's part is now stale.
  const LaunchResult written = runtime.run(increment_kernel(), Grid1D{n}, read_write(x), split);
  EXPECT_EQ(x.transfers().to_device_by(TransferCause::read_miss), 2 * bytes);
  const std::array<std::size_t, 2> part{
      static_cast<std::size_t>(written.report.nodes[0].pixels) * sizeof(float),
      static_cast<std::size_t>(written.report.nodes[1].pixels) * sizeof(float)};
  ASSERT_GT(part[0], 0U);
  ASSERT_GT(part[1], 0U);

  // Reading the whole array, each node copies exactly the other's part, which that node wrote
  // back to the host first.
  const LaunchResult reread =
      runtime.run(reverse_kernel(), Grid1D{n}, read(x), write(out), n, split);
  EXPECT_EQ(reread.report.nodes[0].transfers.read_miss, part[1]);
  EXPECT_EQ(reread.report.nodes[1].transfers.read_miss, part[0]);
  EXPECT_EQ(x.transfers().to_host_by(TransferCause::write_back), bytes);
  EXPECT_EQ(x.transfers().to_device_by(TransferCause::read_miss), 3 * bytes);

  const auto result = out.acquire_read();
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(result[i], static_cast<float>(n - 1 - i) + 1.0F);
}

TEST_P(ArrayOnDevice, HostAndDeviceNodesTakingTurnsAgreeOnEveryElement) {
  const std::int64_t n = 50000;
  Runtime runtime(on({"serial", node()}));
  Array<float> x(n);
  fill_iota(x);
  LaunchOptions small_tiles;
  small_tiles.tile = 1000;
  for (const Policy policy : {Policy::dynamic, Policy::static_split, Policy::guided}) {
    small_tiles.policy = policy;
    runtime.run(increment_kernel(), Grid1D{n}, read_write(x), small_tiles);
  }
  // The host writes too, between runs: every replica is then stale.
  {
    auto host = x.acquire_write();
    for (float& value : host) value *= 2.0F;
  }
  runtime.run(increment_kernel(), Grid1D{n}, read_write(x), small_tiles);
  const auto result = x.acquire_read();
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(result[i], (static_cast<float>(i) + 3.0F) * 2.0F + 1.0F) << i;
  }
}

TEST_P(ArrayOnDevice, BlocksOnlyANodeHeldGoBackWhenItsRuntimeEnds) {
  Array<float> x(4096);
  fill_iota(x);
  {
    Runtime runtime(on({node()}));
    runtime.run(increment_kernel(), Grid1D{4096}, read_write(x));
    EXPECT_EQ(x.transfers().to_host_by(TransferCause::write_back), 0U);
  }
  EXPECT_EQ(x.transfers().to_host_by(TransferCause::write_back), 4096 * sizeof(float));
  const auto result = x.acquire_read();
  for (std::int64_t i = 0; i < 4096; ++i) ASSERT_EQ(result[i], static_cast<float>(i) + 1.0F);
}

TEST_P(ArrayOnDevice, AFullDeviceEvictsTheLeastRecentlyUsedReplicaWritingItsResultsBackFirst) {
  const std::int64_t n = 1 << 18;  // 1 MiB of floats each; the device holds two and a half
  const std::size_t bytes = n * sizeof(float);
  const std::uint64_t cap = bytes * 5 / 2;
  Runtime runtime(capped_at(cap));
  Array<float> a(n), b(n), c(n);
  fill_iota(a);
  runtime.run(scale_kernel(), Grid1D{n}, read_slice(a), write(b), 2.0F);
  // c needs room: a, read only, goes without a copy.
  const LaunchResult second = runtime.run(scale_kernel(), Grid1D{n}, read_slice(b), write(c), 2.0F);
  EXPECT_EQ(second.report.nodes[0].transfers.eviction, 0U);
  EXPECT_EQ(a.transfers().to_host_by(TransferCause::eviction), 0U);
  // a needs room again: b, which only the device held, goes back to the host first.
  const LaunchResult third = runtime.run(scale_kernel(), Grid1D{n}, read_slice(c), write(a), 2.0F);
  EXPECT_EQ(third.report.nodes[0].transfers.eviction, bytes);
  EXPECT_EQ(b.transfers().to_host_by(TransferCause::eviction), bytes);
  EXPECT_LE(third.report.nodes[0].peak_device_bytes, cap);

  const auto in_a = a.acquire_read();
  const auto in_b = b.acquire_read();
  const auto in_c = c.acquire_read();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto value = static_cast<float>(i);
    ASSERT_EQ(in_b[i], 2.0F * value) << i;
    ASSERT_EQ(in_c[i], 4.0F * value) << i;
    ASSERT_EQ(in_a[i], 8.0F * value) << i;
  }
  // An array larger than the cap: an OpenCL kernel not given its arrays' origins indexes them
  // whole, so the launch is the one-line error naming the cap; an implementation that sees
  // views (indexed by position in the space) runs in a window under the cap instead.
  Array<float> big(n * 3);
  if (node() == "opencl") {
    try {
      runtime.run(increment_kernel(), Grid1D{n * 3}, read_write(big));
      FAIL() << "an array larger than the cap ran";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("memory cap"), std::string::npos) << e.what();
    }
  } else {
    const LaunchResult windowed = runtime.run(increment_kernel(), Grid1D{n * 3}, read_write(big));
    EXPECT_LE(windowed.report.nodes[0].peak_device_bytes, cap);
    const auto in_big = big.acquire_read();
    for (std::int64_t i = 0; i < n * 3; ++i) ASSERT_EQ(in_big[i], 1.0F) << i;
  }
}

// x[i] += 1 and a vertical 3-point sum, written to index windows of arrays larger than the
// device (each array argument followed by its origin).
const auto& windowed_increment_kernel() {
  static const auto kernel =
      test::suite_kernel(Kernel<Tile1D, View<float>>("windowed_increment"), increment_loop,
                         HETERO_TEST_CUDA_LAUNCHER(increment))
          .opencl(R"(
__kernel void increment(__global float* x, long x_origin) {
  const long i = get_global_id(0);
  x[i - x_origin] += 1.0f;
})",
                  "increment", {.array_origins = true});
  return kernel;
}

float column_sum(const float* in, std::int64_t pitch, std::int64_t height, std::int64_t x,
                 std::int64_t y) {
  float sum = 0.0F;
  for (std::int64_t dy = -1; dy <= 1; ++dy) {
    sum += in[std::clamp<std::int64_t>(y + dy, 0, height - 1) * pitch + x];
  }
  return sum;
}

const auto& windowed_column_sum_kernel() {
  static const auto kernel =
      test::suite_kernel(
          Kernel<Tile2D, View2D<const float>, View2D<float>, std::int64_t, std::int64_t>(
              "windowed_column_sum"),
          [](Tile2D tile, View2D<const float> in, View2D<float> out, std::int64_t pitch,
             std::int64_t height) {
            for (std::int64_t y = tile.y_begin; y < tile.y_end; ++y) {
              for (std::int64_t x = tile.x_begin; x < tile.x_end; ++x) {
                out(x, y) = column_sum(in.data(), pitch, height, x, y);
              }
            }
          },
          HETERO_TEST_CUDA_LAUNCHER(column_sum))
          .opencl(R"(
__kernel void column_sum(__global const float* in, long in_origin, __global float* out,
                         long out_origin, long pitch, long height) {
  const long x = get_global_id(0), y = get_global_id(1);
  float sum = 0.0f;
  for (long dy = -1; dy <= 1; ++dy) sum += in[clamp(y + dy, 0L, height - 1) * pitch + x - in_origin];
  out[y * pitch + x - out_origin] = sum;
})",
                  "column_sum", {.array_origins = true})
          .exact();
  return kernel;
}

TEST_P(ArrayOnDevice, AnArrayTwiceTheDevicesCapRunsInAWindowThatWritesItsBlocksBackAsItMoves) {
  const std::int64_t n = 1 << 19;  // 2 MiB of floats on a device capped at 1 MiB
  const std::size_t bytes = n * sizeof(float);
  const RuntimeOptions options = capped_at(bytes / 2);
  Runtime runtime(options);
  Array<float> x(n);
  fill_iota(x);
  LaunchOptions tiles;
  tiles.tile = 1 << 14;
  std::uint64_t evicted_by_runs = 0;
  for (int run = 0; run < 2; ++run) {
    const LaunchResult result =
        runtime.run(windowed_increment_kernel(), Grid1D{n}, read_write(x), tiles);
    EXPECT_LE(result.report.nodes[0].peak_device_bytes, bytes / 2);
    evicted_by_runs += result.report.nodes[0].transfers.eviction;
  }
  // Every block went in at least once per run, except those the second run found still in the
  // window (at most a window of them), and every block that went in came back once: evicted as
  // the window moved on, or written back when the host acquired the array.
  const auto in_x = x.acquire_read();
  const ArrayTransfers moved = x.transfers();
  EXPECT_GE(moved.to_device_by(TransferCause::read_miss), 2 * bytes - bytes / 2);
  EXPECT_GE(moved.to_host_by(TransferCause::eviction), bytes);
  EXPECT_EQ(moved.to_host_by(TransferCause::eviction), evicted_by_runs);
  EXPECT_EQ(moved.to_host_by(TransferCause::eviction) + moved.to_host_by(TransferCause::write_back),
            moved.to_device_by(TransferCause::read_miss));
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(in_x[i], static_cast<float>(i) + 2.0F) << i;
  RecordProperty("read_miss_bytes", std::to_string(moved.to_device_by(TransferCause::read_miss)));
  RecordProperty("eviction_bytes", std::to_string(moved.to_host_by(TransferCause::eviction)));
  RecordProperty("write_back_bytes", std::to_string(moved.to_host_by(TransferCause::write_back)));
}

TEST_P(ArrayOnDevice, PitchedArraysLargerThanTheDeviceRunWithAHaloInWindows) {
  const std::int64_t width = 200, pitch = 256, height = 1024;  // 1 MiB each, 768 KiB of room
  Array2D<float> in(width, height, pitch, "in"), out(width, height, pitch, "out");
  {
    auto host = in.acquire_write();
    for (std::int64_t i = 0; i < pitch * height; ++i) {
      host.view().data[i] = static_cast<float>(i % 977);
    }
  }
  Runtime runtime(capped_at(768 * 1024));
  LaunchOptions bands;
  bands.tile = 64 * width;
  const LaunchResult result = runtime.run(windowed_column_sum_kernel(), Grid2D{width, height},
                                          read_halo(in, 1), write(out), pitch, height, bands);
  EXPECT_GT(result.report.nodes[0].transfers.eviction, 0U);
  EXPECT_EQ(in.transfers().to_host_by(TransferCause::eviction), 0U);  // read only: dropped
  EXPECT_LE(result.report.nodes[0].peak_device_bytes, 768U * 1024);
  const auto in_host = in.acquire_read();
  const auto out_host = out.acquire_read();
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      ASSERT_EQ(out_host.view().data[y * pitch + x],
                column_sum(in_host.view().data, pitch, height, x, y))
          << x << "," << y;
    }
  }
}

TEST_P(ArrayOnDevice, ATileLargerThanItsWindowIsAOneLineError) {
  const std::int64_t n = 1 << 19;
  Runtime runtime(capped_at(n * sizeof(float) / 2));
  Array<float> x(n);
  LaunchOptions one_tile;
  one_tile.tile = n;
  try {
    runtime.run(windowed_increment_kernel(), Grid1D{n}, read_write(x), one_tile);
    FAIL() << "a tile larger than the device ran";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("windowed_increment"), std::string::npos) << message;
    EXPECT_NE(message.find("smaller tiles"), std::string::npos) << message;
  }
}

TEST_P(ArrayOnDevice, AWrappedArrayWrittenBackAfterEachRunHoldsTheResultsWhenTheRunReturns) {
  std::vector<float> values(3000);
  std::iota(values.begin(), values.end(), 0.0F);
  Array<float> x = Array<float>::wrap(values, WriteBack::after_each_run, "values");
  Runtime runtime(on({node()}));
  runtime.run(increment_kernel(), Grid1D{3000}, read_write(x));
  for (std::int64_t i = 0; i < 3000; ++i) ASSERT_EQ(values[i], static_cast<float>(i) + 1.0F);
  EXPECT_EQ(x.transfers().to_host_by(TransferCause::write_back), 3000 * sizeof(float));
}

TEST(Reduce, GivesTheSameBitsOnOneTwoAndThreeNodesUnderEveryPolicy) {
  const std::int64_t n = 250007;
  std::vector<float> x(static_cast<std::size_t>(n)), y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((i * 7919) % 2003) * 0.37F - 300.0F;
    y[i] = static_cast<float>((i * 104729) % 1009) * 0.013F;
  }
  const float expected = test::chunked_dot(x, y, test::kDotChunk);
  std::vector<std::vector<std::string>> node_sets{{"serial"}, {"serial", "threads"}};
  node_sets.push_back(opencl_available() ? std::vector<std::string>{"serial", "threads", "opencl"}
                                         : std::vector<std::string>{"serial", "threads", "simd"});
  for (const auto& nodes : node_sets) {
    Runtime runtime(on(nodes));
    for (const std::string_view policy : policy_names()) {
      LaunchOptions options;
      options.policy = parse_policy(policy);
      float dot = 0.0F;
      runtime.run(test::dot_kernel(), Grid1D{n}, read_slice(x), read_slice(y),
                  reduce(dot, Plus{}, test::kDotChunk), test::kDotChunk, options);
      EXPECT_EQ(dot, expected) << nodes.size() << " nodes, " << policy;
    }
  }
}

TEST(Reduce, MinimumAndMaximumStartFromTheirIdentities) {
  const auto extremes =
      Kernel<Tile1D, View<const std::int32_t>, Reducer<std::int32_t>, Reducer<std::int32_t>>(
          "extremes")
          .host([](Tile1D tile, View<const std::int32_t> v, Reducer<std::int32_t> low,
                   Reducer<std::int32_t> high) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) {
              low[i] = Minimum{}(low[i], v[i]);
              high[i] = Maximum{}(high[i], v[i]);
            }
          });
  std::vector<std::int32_t> values(10000);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<std::int32_t>((i * 7919) % 20011) - 10000;
  }
  Runtime runtime(on({"threads"}));
  std::int32_t low = 0, high = 0;
  runtime.run(extremes, Grid1D{10000}, read_slice(values), reduce(low, Minimum{}, 64),
              reduce(high, Maximum{}, 64));
  EXPECT_EQ(low, *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(high, *std::max_element(values.begin(), values.end()));
  test::expect_one_line_error(
      [&] {
        runtime.run(extremes, Grid1D{10000}, read_slice(values), reduce(low, Minimum{}, 0),
                    reduce(high, Maximum{}, 64));
      },
      {"kernel 'extremes', argument 2 (reduce)", "chunks of 0 elements"});
}

TEST(ArrayErrors, ConflictingHostAccessAndAnArrayPassedTwiceAreOneLineErrors) {
  Runtime runtime(on({"serial"}));
  Array<float> x(100), y(100);
  {
    const auto reading = x.acquire_read();
    test::expect_one_line_error(
        [&] { runtime.run(increment_kernel(), Grid1D{100}, read_write(x)); },
        {"kernel 'increment', argument 1", "acquired by the host for reading"});
    test::expect_one_line_error([&] { static_cast<void>(x.acquire_write()); },
                                {"already holds it for reading"});
    // Reading while the host reads is fine.
    runtime.run(scale_kernel(), Grid1D{100}, read_slice(x), write(y), 1.0F);
  }
  test::expect_one_line_error(
      [&] { runtime.run(scale_kernel(), Grid1D{100}, read_slice(x), write(x), 1.0F); },
      {"kernel 'scale', argument 1", "is also argument 2", "hetero::read_write"});
}

// Two chains of runs, one per array, each run on the other node than the run before it: the
// chains overlap (disjoint arrays, disjoint nodes at each step), each array's blocks move between
// the nodes as its chain goes on, and every run sees its predecessor's results.
TEST(ArrayOnTwoNodes, ChainsOfSubmittedRunsOnTwoArraysTakeTurnsOnTheNodes) {
  const std::vector<std::string> backends = test::available_backends();
  const bool opencl = std::find(backends.begin(), backends.end(), "opencl") != backends.end();
  RuntimeOptions options;
  options.exact_nodes = {{"serial", {}}, {opencl ? "opencl" : "threads", {}}};
  Runtime runtime(options);
  constexpr std::int64_t n = 100000;
  constexpr int kRounds = 20;
  Array<float> x(n), y(n);
  std::vector<RunHandle> runs;
  for (int round = 0; round < kRounds; ++round) {
    for (Array<float>* array : {&x, &y}) {
      LaunchOptions launch;
      launch.nodes = {static_cast<std::size_t>(round + (array == &y ? 1 : 0)) % 2};
      runs.push_back(runtime.submit(increment_kernel(), Grid1D{n}, read_write(*array), launch));
    }
  }
  for (const RunHandle& run : runs) run.wait();
  for (Array<float>* array : {&x, &y}) {
    const auto values = array->acquire_read();
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(values[i], float{kRounds}) << i;
  }
}

TEST(ArrayErrors, AcquiringAnArrayASubmittedRunWritesIsAnErrorUntilItIsWaitedFor) {
  // A kernel that holds its run open until the test lets it finish.
  static std::atomic<bool> gate_open{false};
  const auto gated = Kernel<Tile1D, View<float>>("gated").host([](Tile1D tile, View<float> x) {
    while (!gate_open.load()) std::this_thread::yield();
    for (std::int64_t i = tile.begin; i < tile.end; ++i) x[i] = 7.0F;
  });
  Runtime runtime(on({"serial"}));
  Array<float> x(1000);
  const RunHandle handle = runtime.submit(gated, Grid1D{1000}, write(x));
  test::expect_one_line_error([&] { static_cast<void>(x.acquire_read()); },
                              {"a submitted run writes this array", "wait()"});
  gate_open = true;
  handle.wait();
  const auto result = x.acquire_read();
  EXPECT_EQ(result[999], 7.0F);
}

INSTANTIATE_TEST_SUITE_P(DeviceNodes, ArrayOnDevice,
                         ::testing::Values("opencl", "thrust:omp", "cuda", "thrust"),
                         test::node_test_name);

}  // namespace
}  // namespace hetero

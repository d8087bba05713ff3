// User kernels through the public API (hetero::Kernel, hetero::Runtime), written once and run on
// every backend: results equal a plain loop bit for bit, every element is computed once, device
// nodes trace what they copy, and bad input gets one line naming the kernel and the argument.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_kernels.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

using test::saxpy_kernel;

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<float> value(-1000.0F, 1000.0F);
  std::vector<float> values(n);
  for (float& v : values) v = value(random);
  return values;
}

// An image of `width` x `height` floats and its 3x3 blur by the plain loop.
std::pair<std::vector<float>, std::vector<float>> blur_case(std::int64_t width,
                                                            std::int64_t height) {
  std::vector<float> in(static_cast<std::size_t>(width * height)), blurred(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((i * 7919) % 1000) * 0.01F;
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      blurred[static_cast<std::size_t>(y * width + x)] =
          test::blur_at(in.data(), width, height, x, y);
    }
  }
  return {std::move(in), std::move(blurred)};
}

// Launch options for every policy with each tile size of `tiles` (0: the runtime's choice),
// each with a label that names both for a failure's message.
std::vector<std::pair<LaunchOptions, std::string>> every_policy_and_tile(
    std::initializer_list<std::int64_t> tiles) {
  std::vector<std::pair<LaunchOptions, std::string>> launches;
  for (const std::string_view policy : policy_names()) {
    for (const std::int64_t tile : tiles) {
      LaunchOptions options;
      options.policy = parse_policy(policy);
      options.tile = tile;
      launches.emplace_back(options, std::string(policy) + " tile " + std::to_string(tile));
    }
  }
  return launches;
}

class KernelTest : public test::OnEachNode {
 protected:
  RuntimeOptions on_this_node() const {
    RuntimeOptions options;
    options.nodes = {GetParam()};
    return options;
  }
};

TEST_P(KernelTest, SaxpyMatchesThePlainLoopUnderEveryPolicyAndTileSize) {
  const std::size_t n = 10007;
  const std::vector<float> x = random_floats(n, 1), y = random_floats(n, 2);
  const float a = 1.7F;
  std::vector<float> expected(n);
  for (std::size_t i = 0; i < n; ++i) expected[i] = a * x[i] + y[i];
  Runtime runtime(on_this_node());
  const auto saxpy = saxpy_kernel();
  for (const auto& [options, label] : every_policy_and_tile({0, 1, 999, std::int64_t(n)})) {
    std::vector<float> z(n, -1.0F);
    const LaunchResult result = runtime.run(saxpy, Grid1D{static_cast<std::int64_t>(n)},
                                            read_slice(x), read_slice(y), write(z), a, options);
    EXPECT_EQ(z, expected) << label;
    EXPECT_EQ(result.report.kernel, "saxpy");
    EXPECT_EQ(result.report.iterations, n) << "one work unit per element";
  }
}

TEST_P(KernelTest, ReadWriteUpdatesInPlaceAndReadWholeSeesEveryElement) {
  const auto& reverse_add = test::reverse_add_kernel();
  const std::int64_t n = 5000;
  std::vector<double> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i)] = static_cast<double>(i) * 0.5;
    y[static_cast<std::size_t>(i)] = 1.0 / static_cast<double>(i + 1);
  }
  std::vector<double> expected = y;
  for (std::int64_t i = 0; i < n; ++i) {
    expected[static_cast<std::size_t>(i)] += x[static_cast<std::size_t>(n - 1 - i)];
  }
  Runtime runtime(on_this_node());
  LaunchOptions options;
  options.tile = 333;
  runtime.run(reverse_add, Grid1D{n}, read(x), read_write(y), n, options);
  EXPECT_EQ(y, expected);
}

TEST_P(KernelTest, TwoDimensionalKernelOverPitchedArraysMatchesThePlainLoop) {
  const std::int64_t width = 37, height = 29, in_pitch = 41;
  std::vector<float> in(static_cast<std::size_t>(in_pitch * height), -7.0F);
  for (std::int64_t yy = 0; yy < height; ++yy) {
    for (std::int64_t xx = 0; xx < width; ++xx) {
      in[static_cast<std::size_t>(yy * in_pitch + xx)] =
          static_cast<float>(xx) - 0.25F * static_cast<float>(yy);
    }
  }
  std::vector<float> bias(static_cast<std::size_t>(height));
  for (std::size_t yy = 0; yy < bias.size(); ++yy) bias[yy] = 0.125F * static_cast<float>(yy);
  std::vector<float> out(static_cast<std::size_t>(width * height), 0.0F), expected(out.size());
  for (std::int64_t yy = 0; yy < height; ++yy) {
    for (std::int64_t xx = 0; xx < width; ++xx) {
      expected[static_cast<std::size_t>(yy * width + xx)] =
          in[static_cast<std::size_t>(yy * in_pitch + xx)] * 2.0F +
          bias[static_cast<std::size_t>(yy)];
    }
  }
  const auto& scale_rows = test::scale_rows_kernel();
  Runtime runtime(on_this_node());
  for (const std::int64_t tile : {std::int64_t{0}, std::int64_t{1}, width * 5 + 3}) {
    std::fill(out.begin(), out.end(), 0.0F);
    LaunchOptions options;
    options.tile = tile;
    const LaunchResult result =
        runtime.run(scale_rows, Grid2D{width, height},
                    read_slice(Span2D<const float>{in.data(), width, height, in_pitch}), read(bias),
                    write(span2d(out, width, height)), in_pitch, width, options);
    EXPECT_EQ(out, expected) << "tile " << tile;
    EXPECT_EQ(result.report.tile_pixels % width, 0) << "2-D tiles are bands of whole rows";
  }
}

// A written 2-D array whose rows lie apart: every element of the space is written, and what lies
// between rows (the pitch's gap) is left exactly as it was on every node.
TEST_P(KernelTest, WritingAPitchedArrayLeavesTheGapBetweenRowsAlone) {
  const std::int64_t width = 19, height = 11, pitch = 24;
  std::vector<float> in(static_cast<std::size_t>(width * height));
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) * 0.5F;
  const std::vector<float> bias(static_cast<std::size_t>(height), 1.0F);
  Runtime runtime(on_this_node());
  for (const std::int64_t rows : {1, 3, 11}) {
    std::vector<float> out(static_cast<std::size_t>(pitch * height), -9.0F);
    LaunchOptions options;
    options.tile = rows * width;
    runtime.run(test::scale_rows_kernel(), Grid2D{width, height},
                read_slice(span2d(std::as_const(in), width, height)), read(bias),
                write(Span2D<float>{out.data(), width, height, pitch}), width, pitch, options);
    for (std::int64_t y = 0; y < height; ++y) {
      for (std::int64_t x = 0; x < pitch; ++x) {
        const float got = out[static_cast<std::size_t>(y * pitch + x)];
        if (x < width) {
          ASSERT_EQ(got, in[static_cast<std::size_t>(y * width + x)] * 2.0F + 1.0F)
              << x << "," << y;
        } else if (y < height - 1) {
          ASSERT_EQ(got, -9.0F) << "the gap at " << x << "," << y << " was written";
        }
      }
    }
  }
}

TEST_P(KernelTest, TraceHoldsEveryElementOnceAndDeviceCopiesWithTheirBytes) {
  const std::size_t n = 4099;
  const std::vector<float> x = random_floats(n, 3), y = random_floats(n, 4);
  std::vector<float> z(n);
  Runtime runtime(on_this_node());
  LaunchOptions options;
  options.tile = 500;
  const LaunchResult result = runtime.run(saxpy_kernel(), Grid1D{static_cast<std::int64_t>(n)},
                                          read_slice(x), read_slice(y), write(z), 2.0F, options);
  std::vector<int> computed(n, 0);
  std::uint64_t to_device = 0, to_host = 0;
  for (const TraceEvent& event : result.trace.events) {
    EXPECT_LE(event.begin_ns, event.end_ns);
    EXPECT_LE(event.end_ns, result.trace.wall_ns);
    if (event.kind == EventKind::compute) {
      for (std::int64_t i = event.tile * 500;
           i < std::min<std::int64_t>(event.tile * 500 + 500, static_cast<std::int64_t>(n)); ++i) {
        ++computed[static_cast<std::size_t>(i)];
      }
      EXPECT_EQ(event.iterations, static_cast<std::uint64_t>(event.pixels));
    }
    if (event.kind == EventKind::copy_to_device) to_device += event.bytes;
    if (event.kind == EventKind::copy_to_host) to_host += event.bytes;
  }
  EXPECT_TRUE(std::all_of(computed.begin(), computed.end(), [](int c) { return c == 1; }));
  ASSERT_EQ(result.report.nodes.size(), 1U);
  const NodeKind kind = result.report.nodes[0].kind;
  if (kind == NodeKind::host) {
    EXPECT_EQ(to_device + to_host, 0U) << "host nodes work in host memory";
  } else if (kind == NodeKind::device) {
    EXPECT_EQ(to_device, 2 * n * sizeof(float)) << "x and y, each tile's slice once";
    EXPECT_EQ(to_host, n * sizeof(float)) << "z, each tile's slice once";
  } else {
    // Remote ranks get the kernel once each, and every tile's order and results carry a header
    // beside the slices.
    const auto messages = static_cast<std::uint64_t>(result.report.tiles + 16);
    EXPECT_GE(to_device, 2 * n * sizeof(float));
    EXPECT_LT(to_device, 2 * n * sizeof(float) + 256 * messages);
    EXPECT_GE(to_host, n * sizeof(float));
    EXPECT_LT(to_host, n * sizeof(float) + 256 * messages);
  }
}

// A 3x3 blur reads each tile's rows and one more on each side: the result equals the plain loop
// on every tile size, and a device node copies in exactly the rows each tile reaches.
TEST_P(KernelTest, HaloReadsTheTilesRowsAndOneMoreOnEachSide) {
  const std::int64_t width = 41, height = 23;
  const auto [in, expected] = blur_case(width, height);
  Runtime runtime(on_this_node());
  for (const std::int64_t rows : {1, 4, 23}) {
    std::vector<float> out(in.size(), -1.0F);
    LaunchOptions options;
    options.tile = rows * width;
    const LaunchResult result =
        runtime.run(test::blur_kernel(), Grid2D{width, height},
                    read_halo(span2d(std::as_const(in), width, height), 1),
                    write(span2d(out, width, height)), width, height, options);
    EXPECT_EQ(out, expected) << rows << " rows per tile";
    const NodeReport& node = result.report.nodes[0];
    if (node.kind == NodeKind::host) {
      EXPECT_EQ(node.bytes_to_device + node.bytes_to_host, 0U);
      continue;
    }
    // Each tile's own rows in and out once, and its halo rows inside the image in, as halo.
    std::uint64_t halo_rows = 0;
    for (std::int64_t first = 0; first < height; first += rows) {
      halo_rows += (first > 0 ? 1 : 0) + (first + rows < height ? 1 : 0);
    }
    const auto row_bytes = static_cast<std::uint64_t>(width) * sizeof(float);
    EXPECT_EQ(node.transfers.halo, halo_rows * row_bytes) << rows << " rows per tile";
    EXPECT_EQ(node.transfers.eviction, 0U);
    if (node.kind == NodeKind::device) {
      EXPECT_EQ(node.transfers.read_miss, static_cast<std::uint64_t>(height) * row_bytes);
      EXPECT_EQ(node.transfers.write_back, static_cast<std::uint64_t>(height) * row_bytes);
      EXPECT_EQ(node.bytes_to_device, node.transfers.read_miss + node.transfers.halo);
    }
  }
}

// Registered arrays on every node: a run reads what the one before it wrote (wherever that is),
// under every policy, and the host sees the results through an acquire.
TEST_P(KernelTest, RegisteredArraysCarryResultsFromRunToRunAndBackThroughAnAcquire) {
  const std::int64_t n = 10007;
  const std::vector<float> x0 = random_floats(n, 3), y0 = random_floats(n, 4);
  Array<float> x(n), y(n), z(n), w(n);
  std::copy(x0.begin(), x0.end(), x.acquire_write().view().begin());
  std::copy(y0.begin(), y0.end(), y.acquire_write().view().begin());
  Runtime runtime(on_this_node());
  const auto& saxpy = saxpy_kernel();
  for (const std::string_view policy : policy_names()) {
    LaunchOptions options;
    options.policy = parse_policy(policy);
    options.tile = 999;
    runtime.run(saxpy, Grid1D{n}, read_slice(x), read_slice(y), write(z), 2.0F, options);
    runtime.run(saxpy, Grid1D{n}, read_slice(z), read_slice(y), write(w), 0.5F, options);
    const auto result = w.acquire_read();
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      ASSERT_EQ(result[i], 0.5F * (2.0F * x0[k] + y0[k]) + y0[k]) << policy << " at " << i;
    }
  }

  const std::int64_t width = 41, height = 23;
  Array2D<float> image(width, height), blurred(width, height);
  std::vector<float> pixels(static_cast<std::size_t>(width * height));
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<float>(i % 97);
  std::copy(pixels.begin(), pixels.end(), image.acquire_write().view().data);
  LaunchOptions bands;
  bands.tile = 4 * width;
  runtime.run(test::blur_kernel(), Grid2D{width, height}, read_halo(image, 1), write(blurred),
              width, height, bands);
  const auto result = blurred.acquire_read();
  for (std::int64_t yy = 0; yy < height; ++yy) {
    for (std::int64_t xx = 0; xx < width; ++xx) {
      ASSERT_EQ(result.view().data[yy * width + xx],
                test::blur_at(pixels.data(), width, height, xx, yy))
          << xx << "," << yy;
    }
  }
}

// A reduction's partials are chunks summed in order and folded in order: the same bits under
// every policy and tile size, on every node.
TEST_P(KernelTest, ReduceGivesTheSameBitsUnderEveryPolicyAndTileSize) {
  const std::int64_t n = 100003;
  const std::vector<float> x = random_floats(n, 5), y = random_floats(n, 6);
  const float expected = test::chunked_dot(x, y, test::kDotChunk);
  Runtime runtime(on_this_node());
  for (const auto& [options, label] : every_policy_and_tile({0, 1, 77777})) {
    float dot = -1.0F;
    runtime.run(test::dot_kernel(), Grid1D{n}, read_slice(x), read_slice(y),
                reduce(dot, Plus{}, test::kDotChunk), test::kDotChunk, options);
    EXPECT_EQ(dot, expected) << label;
  }
}

// A reduction's partials start at the op's identity on every node, also where a node keeps them
// in memory of its own: the largest of negative values is never the 0 of fresh memory.
TEST_P(KernelTest, AReductionFoldsIntoPartialsThatStartAtTheOpsIdentity) {
  const std::int64_t n = 50021;
  std::vector<float> x = random_floats(n, 7);
  for (float& value : x) value = -std::abs(value) - 1.0F;
  const float expected = *std::max_element(x.begin(), x.end());
  Runtime runtime(on_this_node());
  for (const auto& [options, label] : every_policy_and_tile({0, 1, 7777})) {
    float largest = 0.0F;
    runtime.run(test::max_fold_kernel(), Grid1D{n}, read_slice(x),
                reduce(largest, Maximum{}, test::kDotChunk), test::kDotChunk, options);
    EXPECT_EQ(largest, expected) << label;
  }
}

// A single-source element functor gives the host implementation (this file is compiled by g++):
// host nodes (and remote ranks computing with one) run it; a device node without a CUDA
// compiler's implementation says why.
TEST_P(KernelTest, ElementFunctorRunsWhereItHasAnImplementation) {
  const auto& blend = test::blend_kernel();
  const std::int64_t width = 33, height = 17;
  std::vector<float> in(static_cast<std::size_t>(width * height)), out(in.size()),
      expected(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = 0.5F * static_cast<float>(i);
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      const auto i = static_cast<std::size_t>(y * width + x);
      expected[i] = 0.75F * in[i] + static_cast<float>(y);
    }
  }
  Runtime runtime(on_this_node());
  const auto run = [&] {
    runtime.run(blend, Grid2D{width, height}, read_slice(span2d(std::as_const(in), width, height)),
                write(span2d(out, width, height)), 0.75F);
  };
  if (runtime.nodes().front().kind != NodeKind::device) {
    run();
    EXPECT_EQ(out, expected);
  } else {
    EXPECT_THROW(run(), UsageError) << "no implementation for a device node: a one-line error";
  }
}

#if defined(HETERO_TEST_CUDA_KERNELS)
// An element functor compiled by nvcc has a host implementation and a CUDA one: host nodes run
// the first, the GPU nodes the second, over a tile taller than a CUDA grid's 65,535 rows; the
// other device nodes say it has none of theirs.
TEST_P(KernelTest, ANvccElementFunctorCoversATileTallerThanACudaGrid) {
  const auto& kernel = test::cuda::weighted_plus_row();
  const std::int64_t width = 3, height = 70001;
  std::vector<float> in(static_cast<std::size_t>(width * height)), out(in.size(), -1.0F),
      expected(in.size());
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      const auto i = static_cast<std::size_t>(y * width + x);
      in[i] = static_cast<float>(i % 1000);
      expected[i] = 0.5F * in[i] + static_cast<float>(y);  // exact in float: no rounding
    }
  }
  Runtime runtime(on_this_node());
  LaunchOptions one_tile;
  one_tile.tile = width * height;
  const auto run = [&] {
    runtime.run(kernel, Grid2D{width, height}, read_slice(span2d(std::as_const(in), width, height)),
                write(span2d(out, width, height)), 0.5F, one_tile);
  };
  if (GetParam() == "opencl" || GetParam() == "thrust:omp") {
    EXPECT_THROW(run(), UsageError) << "no implementation of this node's: a one-line error";
    return;
  }
  run();
  EXPECT_EQ(out, expected);
}
#endif

// The Mandelbrot job through the public kernel: every (precision, mode) gives the plain loop's
// counts, and the seed preset the tutorial's sum and hash; the report counts the iterations
// performed: those the counts stand for, whatever node computed them, but on the simd node, whose
// default kernel stops at a repeating state (fewer, never more).
TEST_P(KernelTest, MandelbrotThroughThePublicKernelGivesThePlainLoopsCounts) {
  Runtime runtime(on_this_node());
  const Region region{-2.0, 0.5, -1.25, 1.25};
  for (const Precision precision : {Precision::fp64, Precision::fp32}) {
    for (const Mode mode : {Mode::exact, Mode::fma}) {
      const JobSpec spec = test::region_job(region, 123, 77, 300, precision, mode);
      const Job job(spec);
      std::vector<std::uint32_t> counts(static_cast<std::size_t>(job.pixels()), 0xFFFFFFFF);
      LaunchOptions options;
      options.tile = 1000;  // tiles that end inside a row
      const LaunchResult result = run_mandelbrot(runtime, job, counts, options);
      const std::vector<std::uint32_t> expected = test::reference_counts(spec);
      EXPECT_EQ(counts, expected) << to_string(precision) << " " << to_string(mode);
      std::uint64_t iterations = 0;
      for (const std::uint32_t count : expected) iterations += iterations_of(count, spec.max_iter);
      EXPECT_EQ(result.report.effective_iterations, iterations);
      if (GetParam() == "simd") {
        EXPECT_LE(result.report.iterations, iterations);
      } else {
        EXPECT_EQ(result.report.iterations, iterations);
      }
      EXPECT_EQ(result.report.checksum, checksum(expected));
      EXPECT_EQ(result.report.kernel, "mandelbrot." + std::string(to_string(precision)) + "." +
                                          std::string(to_string(mode)));
    }
  }
  const Job seed(resolve_job(JobRequest{}));
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(seed.pixels()));
  const LaunchResult result = run_mandelbrot(runtime, seed, counts);
  EXPECT_EQ(result.report.checksum.sum, test::kSeedSum);
  EXPECT_EQ(result.report.checksum.hash_hex(), test::kSeedHash);
}

// A kernel with a simd implementation beside its host one: the simd node runs the simd one, every
// other host node the host one; with only a simd implementation, the other host nodes have none.
TEST(KernelFamilies, TheSimdNodeRunsTheSimdImplementationAndOtherHostNodesTheHostOne) {
  if (!NodeRegistry::builtin().describe("simd").available) GTEST_SKIP() << "no simd node here";
  const auto mark = [](std::int32_t value) {
    return [value](Tile1D tile, View<std::int32_t> out) {
      for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = value;
    };
  };
  const auto both = Kernel<Tile1D, View<std::int32_t>>("mark").host(mark(1)).simd(mark(2));
  const auto simd_only = Kernel<Tile1D, View<std::int32_t>>("mark_simd").simd(mark(2));
  for (const std::string node : {"serial", "threads", "simd"}) {
    RuntimeOptions options;
    options.nodes = {node};
    Runtime runtime(options);
    std::vector<std::int32_t> out(100, 0);
    runtime.run(both, Grid1D{100}, write(out));
    const std::int32_t expected = node == "simd" ? 2 : 1;
    EXPECT_EQ(std::count(out.begin(), out.end(), expected), 100) << node;
    if (node == "simd") {
      runtime.run(simd_only, Grid1D{100}, write(out));
    } else {
      EXPECT_THROW(runtime.run(simd_only, Grid1D{100}, write(out)), UsageError) << node;
    }
  }
}

// A kernel says how many elements each thread of its CUDA implementation computes (1 unless set,
// never less); the Mandelbrot kernel's refill implementation shares a chunk of pixels among a
// block's threads, several each.
TEST(KernelGeometry, ElementsPerCudaThreadAreAtLeastOneAndSeveralForTheMandelbrotKernel) {
  auto kernel = Kernel<Tile1D, View<float>>("geometry");
  EXPECT_EQ(kernel.definition()->cuda_elements_per_thread, 1);
  kernel.cuda_elements_per_thread(8);
  EXPECT_EQ(kernel.definition()->cuda_elements_per_thread, 8);
  kernel.cuda_elements_per_thread(0);
  EXPECT_EQ(kernel.definition()->cuda_elements_per_thread, 1);
  const auto mandelbrot = mandelbrot_kernel<float>(Mode::exact).definition();
  if (!mandelbrot->cuda) GTEST_SKIP() << "this build has no CUDA implementation of the kernel";
  EXPECT_GT(mandelbrot->cuda_elements_per_thread, 1);
}

// Kernel::work counts what a tile performed from its results; it reads them in host memory, so
// a registered array it writes is refused in one line.
TEST(KernelWork, AKernelCountingItsWorkFromRegisteredResultsIsAOneLineError) {
  const auto kernel = Kernel<Tile1D, View<std::int32_t>>("count_work")
                          .host([](Tile1D tile, View<std::int32_t> out) {
                            for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = 3;
                          })
                          .work([](Tile1D tile, View<std::int32_t> out) {
                            std::int64_t units = 0;
                            for (std::int64_t i = tile.begin; i < tile.end; ++i) units += out[i];
                            return units;
                          });
  Runtime runtime;
  std::vector<std::int32_t> plain(1000);
  EXPECT_EQ(runtime.run(kernel, Grid1D{1000}, write(plain)).report.iterations, 3000U);
  Array<std::int32_t> registered(1000);
  try {
    runtime.run(kernel, Grid1D{1000}, write(registered));
    FAIL() << "a registered result was counted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("kernel 'count_work', argument 1 (write slice): the "
                                         "kernel counts its work from its results"),
              std::string::npos)
        << e.what();
  }
}

TEST(MandelbrotKernel, CountsThatDoNotHoldOnePerPixelAreAOneLineError) {
  Runtime runtime;
  const Job seed(resolve_job(JobRequest{}));
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(seed.pixels() - 1));
  try {
    run_mandelbrot(runtime, seed, counts);
    FAIL() << "a short counts array ran";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "run_mandelbrot: 249999 counts for a job of 250000 pixels; pass one count per "
                 "pixel");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KernelTest, ::testing::ValuesIn(test::backends_and_systems()),
                         test::node_test_name);

// The device nodes: OpenCL's, Thrust's OpenMP system (everywhere), and CUDA's where a GPU is.
class KernelPieces : public KernelTest {};

// Plain arrays larger than a device's memory cap: each queue gets a buffer for a piece of a
// tile (its rows and halo), tiles run in pieces, and the results are the plain loop's.
TEST_P(KernelPieces, PlainArraysLargerThanTheDeviceRunInPiecesWithTheirHalo) {
  // The OpenCL implementation is given where each piece's buffer starts; the others see views
  // indexed by position in the space, wherever their piece lies.
  const auto blur =
      test::suite_kernel(
          Kernel<Tile2D, View2D<const float>, View2D<float>, std::int64_t, std::int64_t>(
              "blur_pieces"),
          test::blur_loop, HETERO_TEST_CUDA_LAUNCHER(blur3))
          .opencl(R"(
__kernel void blur_pieces(__global const float* in, long in_origin, __global float* out,
                          long out_origin, long width, long height) {
  const long x = get_global_id(0), y = get_global_id(1);
  float sum = 0.0f;
  for (long dy = -1; dy <= 1; ++dy) {
    const long yy = clamp(y + dy, 0L, height - 1);
    for (long dx = -1; dx <= 1; ++dx) {
      sum += in[yy * width + clamp(x + dx, 0L, width - 1) - in_origin];
    }
  }
  out[y * width + x - out_origin] = sum / 9.0f;
})",
                  "blur_pieces", OpenCLOptions{.array_origins = true})
          .exact();
  const std::int64_t width = 256, height = 200;  // 200 KiB per array
  const auto [in, expected] = blur_case(width, height);
  RuntimeOptions options = on_this_node();
  options.node_options.memory.bytes = 150 * 1024;  // neither array fits whole
  Runtime runtime(options);
  std::vector<float> out(in.size(), -1.0F);
  LaunchOptions launch;
  launch.tile = 100 * width;  // 100 rows: more than a piece
  const LaunchResult result = runtime.run(blur, Grid2D{width, height},
                                          read_halo(span2d(std::as_const(in), width, height), 1),
                                          write(span2d(out, width, height)), width, height, launch);
  EXPECT_EQ(out, expected);
  const NodeReport& node = result.report.nodes[0];
  EXPECT_GT(node.pieces, node.tiles);
  EXPECT_LE(node.peak_device_bytes, options.node_options.memory.bytes);
  // Every row goes in once as its own and comes back once; halo rows at the pieces' edges.
  const auto row_bytes = static_cast<std::uint64_t>(width) * sizeof(float);
  EXPECT_EQ(node.transfers.read_miss, static_cast<std::uint64_t>(height) * row_bytes);
  EXPECT_EQ(node.transfers.write_back, static_cast<std::uint64_t>(height) * row_bytes);
  EXPECT_GT(node.transfers.halo, 0U);
}

INSTANTIATE_TEST_SUITE_P(DeviceNodes, KernelPieces,
                         ::testing::Values("opencl", "thrust:omp", "cuda", "thrust"),
                         test::node_test_name);

TEST(KernelErrors, ArraysThatDoNotFitTheSpaceAreOneLineErrors) {
  Runtime runtime;
  const auto saxpy = saxpy_kernel();
  std::vector<float> x(100), y(99), z(100);
  test::expect_one_line_error(
      [&] { runtime.run(saxpy, Grid1D{100}, read_slice(x), read_slice(y), write(z), 1.0F); },
      {"kernel 'saxpy'", "argument 2", "read slice", "99 elements", "100"});
  std::vector<float> short_z(50);
  test::expect_one_line_error(
      [&] { runtime.run(saxpy, Grid1D{100}, read_slice(x), read_slice(x), write(short_z), 1.0F); },
      {"kernel 'saxpy'", "argument 3", "write slice", "50 elements"});
  // Read whole: any size is the kernel's business.
  std::vector<float> small(3);
  EXPECT_NO_THROW(runtime.run(saxpy, Grid1D{3}, read(small), read(small), write(z), 1.0F));

  const auto copy2d = Kernel<Tile2D, View2D<const int>, View2D<int>>("copy2d").host(
      [](Tile2D tile, View2D<const int> in, View2D<int> out) {
        for (std::int64_t yy = tile.y_begin; yy < tile.y_end; ++yy) {
          for (std::int64_t xx = tile.x_begin; xx < tile.x_end; ++xx) out(xx, yy) = in(xx, yy);
        }
      });
  std::vector<int> in(12 * 10), out(12 * 10);
  test::expect_one_line_error(
      [&] {
        runtime.run(copy2d, Grid2D{12, 10}, read_slice(span2d(std::as_const(in), 10, 12)),
                    write(span2d(out, 12, 10)));
      },
      {"kernel 'copy2d'", "argument 1", "10x12", "12x10"});
  test::expect_one_line_error(
      [&] {
        runtime.run(copy2d, Grid2D{12, 10}, read_slice(Span2D<const int>{in.data(), 12, 10, 11}),
                    write(span2d(out, 12, 10)));
      },
      {"kernel 'copy2d'", "argument 1", "12 elements", "11 elements apart"});
}

TEST(KernelErrors, AHaloLargerThanTheArrayOrNegativeIsAOneLineError) {
  Runtime runtime;
  std::vector<float> in(10 * 6), out(10 * 6);
  const auto run = [&](std::int64_t halo) {
    runtime.run(test::blur_kernel(), Grid2D{10, 6},
                read_halo(span2d(std::as_const(in), 10, 6), halo), write(span2d(out, 10, 6)),
                std::int64_t{10}, std::int64_t{6});
  };
  test::expect_one_line_error([&] { run(7); },
                              {"kernel 'blur3'", "argument 1", "halo of 7 rows", "array's 6"});
  test::expect_one_line_error([&] { run(-1); }, {"kernel 'blur3'", "argument 1", "negative"});
  EXPECT_NO_THROW(run(6)) << "a halo of the whole array reaches every row";
}

TEST(KernelErrors, ANodeWithoutAnImplementationNamesTheNodeAndFallback) {
  const auto host_only =
      Kernel<Tile1D, View<float>>("host_only").host([](Tile1D tile, View<float> out) {
        for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = static_cast<float>(i);
      });
  if (!NodeRegistry::builtin().describe("opencl").available) {
    GTEST_SKIP() << "opencl is unavailable: " << NodeRegistry::builtin().describe("opencl").reason;
  }
  std::vector<float> out(1000);
  RuntimeOptions options;
  options.nodes = {"opencl", "serial"};
  options.share = true;
  Runtime strict(options);
  test::expect_one_line_error([&] { strict.run(host_only, Grid1D{1000}, write(out)); },
                              {"node 'opencl'", "kernel 'host_only'", "--fallback"});

  options.fallback = true;
  Runtime lenient(options);
  const LaunchResult result = lenient.run(host_only, Grid1D{1000}, write(out));
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<float>(i));
  ASSERT_EQ(result.report.nodes.size(), 2U);
  EXPECT_EQ(result.report.nodes[0].tiles, 0);
  EXPECT_EQ(result.report.nodes[1].tiles, result.report.tiles);
  EXPECT_TRUE(std::any_of(result.report.notes.begin(), result.report.notes.end(),
                          [](const std::string& note) {
                            return note.find("node 'opencl'") != std::string::npos &&
                                   note.find("--fallback") != std::string::npos;
                          }));
}

TEST(KernelErrors, OpenCLSourceThatFailsToBuildNamesTheKernelAndTheFirstError) {
  if (!NodeRegistry::builtin().describe("opencl").available) {
    GTEST_SKIP() << "opencl is unavailable: " << NodeRegistry::builtin().describe("opencl").reason;
  }
  const auto broken = Kernel<Tile1D, View<float>>("broken").opencl(
      "__kernel void broken(__global float* out) { out[0] = hetero_not_declared; }", "broken");
  std::vector<float> out(10);
  RuntimeOptions options;
  options.nodes = {"opencl"};
  Runtime runtime(options);
  try {
    runtime.run(broken, Grid1D{10}, write(out));
    FAIL() << "a kernel that cannot build ran";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("kernel 'broken'"), std::string::npos) << message;
    EXPECT_NE(message.find("opencl"), std::string::npos) << message;
    EXPECT_NE(message.find("hetero_not_declared"), std::string::npos) << message;
  }
}

// An exact kernel's OpenCL source is built with FP_CONTRACT OFF before anything else.
TEST(KernelExactness, ExactKernelsOpenCLSourceTurnsContractionOff) {
  auto kernel = Kernel<Tile1D, View<float>>("k").opencl("__kernel void k() {}", "k");
  const backend::OpenCLImplementation& implementation = kernel.definition()->opencl.front();
  EXPECT_EQ(backend::opencl_build_source(*kernel.definition(), implementation),
            "__kernel void k() {}");
  kernel.exact();
  EXPECT_EQ(backend::opencl_build_source(*kernel.definition(), kernel.definition()->opencl.front()),
            "#pragma OPENCL FP_CONTRACT OFF\n__kernel void k() {}");
}

// An exact kernel's OpenCL build gets FP_CONTRACT OFF: a*b + c rounds twice, as on the host.
TEST(KernelExactness, ExactOpenCLKernelRoundsLikeTheHost) {
  if (!NodeRegistry::builtin().describe("opencl").available) {
    GTEST_SKIP() << "opencl is unavailable: " << NodeRegistry::builtin().describe("opencl").reason;
  }
  const std::size_t n = 1 << 14;
  const std::vector<float> a = random_floats(n, 5), b = random_floats(n, 6),
                           c = random_floats(n, 7);
  std::vector<float> expected(n), out(n);
  for (std::size_t i = 0; i < n; ++i) expected[i] = a[i] * b[i] + c[i];
  const auto multiply_add =
      Kernel<Tile1D, View<const float>, View<const float>, View<const float>, View<float>>(
          "multiply_add")
          .opencl(R"(
__kernel void multiply_add(__global const float* a, __global const float* b, __global const float* c,
                  __global float* out) {
  const size_t i = get_global_id(0);
  out[i] = a[i] * b[i] + c[i];
})",
                  "multiply_add")
          .exact();
  RuntimeOptions options;
  options.nodes = {"opencl"};
  Runtime runtime(options);
  runtime.run(multiply_add, Grid1D{static_cast<std::int64_t>(n)}, read_slice(a), read_slice(b),
              read_slice(c), write(out));
  EXPECT_EQ(out, expected);
}

// Submitted runs take effect in order: the second reads what the first wrote.
TEST(KernelModel, SignatureNamesEachParametersElementTypeAndShape) {
  EXPECT_EQ(saxpy_kernel().definition()->signature, "(f32[] const, f32[] const, f32[], f32)");
  EXPECT_EQ(test::scale_rows_kernel().definition()->signature,
            "(f32[,] const, f32[] const, f32[,], i64, i64)");
  const auto odd = Kernel<Tile1D, View<std::uint8_t>, bool, std::array<char, 3>>("odd");
  EXPECT_EQ(odd.definition()->signature, "(u8[], bool, b3)");
}

// A kernel's throughput is learned per element types: "scaled" on doubles is another entry
// than "scaled" on floats. Each tile takes a millisecond, so that the runs are long enough to
// be learned from.
template <class T>
Kernel<Tile1D, View<T>, T> slow_scaling_kernel() {
  return Kernel<Tile1D, View<T>, T>("scaled").host([](Tile1D tile, View<T> out, T factor) {
    for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = factor * static_cast<T>(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
}

TEST(KernelModel, RatesAreKeptPerNameAndElementTypes) {
  ThroughputModel model;
  RuntimeOptions options;
  options.nodes = {"serial"};
  options.model = &model;
  Runtime runtime(options);
  LaunchOptions launch;
  launch.tile = 100;
  std::vector<float> floats(3000);
  runtime.run(slow_scaling_kernel<float>(), Grid1D{3000}, write(floats), 2.0F, launch);
  EXPECT_EQ(floats[2999], 5998.0F);
  const std::string after_floats = model.to_json();
  EXPECT_NE(after_floats.find("scaled(f32[], f32)@"), std::string::npos) << after_floats;
  EXPECT_EQ(after_floats.find("scaled(f64"), std::string::npos);
  std::vector<double> doubles(3000);
  runtime.run(slow_scaling_kernel<double>(), Grid1D{3000}, write(doubles), 2.0, launch);
  EXPECT_NE(model.to_json().find("scaled(f64[], f64)@"), std::string::npos);
}

TEST(Runtime, SubmittedRunsAreOrderedByWhatTheyReadAndWrite) {
  const auto fill = make_kernel("fill", [](Tile1D tile, View<int> out, int value) {
    for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = value + static_cast<int>(i);
  });
  const auto twice = make_kernel("twice", [](Tile1D tile, View<const int> in, View<int> out) {
    for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = 2 * in[i];
  });
  RuntimeOptions options;
  options.nodes = {"threads"};
  Runtime runtime(options);
  std::vector<int> a(20000), b(20000);
  const RunHandle first = runtime.submit(fill, Grid1D{20000}, write(a), 7);
  const RunHandle second = runtime.submit(twice, Grid1D{20000}, read_slice(a), write(b));
  EXPECT_EQ(second.wait().report.kernel, "twice");
  EXPECT_TRUE(first.ready());
  for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b[i], 2 * (7 + static_cast<int>(i)));
  // A failed run's handle rethrows its error.
  std::vector<int> too_short(10);
  const RunHandle failed = runtime.submit(twice, Grid1D{20000}, read_slice(a), write(too_short));
  EXPECT_THROW(failed.wait(), UsageError);
}

// Two serial nodes, by index 0 and 1.
Runtime two_serial_nodes() {
  RuntimeOptions options;
  options.exact_nodes = {{"serial", {}}, {"serial", {}}};
  return Runtime(options);
}

LaunchOptions on_node(std::size_t index) {
  LaunchOptions options;
  options.nodes = {index};
  return options;
}

// Each run of `meet` marks its arrival and waits (up to 10 s) for the other's: both see the other
// only when the two runs overlap.
std::atomic<int> meet_arrivals{0};
const auto meet_kernel = make_kernel("meet", [](Tile1D tile, View<int> met) {
  ++meet_arrivals;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (meet_arrivals.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  for (std::int64_t i = tile.begin; i < tile.end; ++i) met[i] = meet_arrivals.load() >= 2 ? 1 : 0;
});

TEST(Runtime, SubmittedRunsOnDisjointNodesAndDataOverlap) {
  Runtime runtime = two_serial_nodes();
  meet_arrivals = 0;
  std::vector<int> a(1, -1), b(1, -1);
  const RunHandle first = runtime.submit(meet_kernel, Grid1D{1}, write(a), on_node(0));
  const RunHandle second = runtime.submit(meet_kernel, Grid1D{1}, write(b), on_node(1));
  const Report& first_report = first.wait().report;
  const Report& second_report = second.wait().report;
  EXPECT_EQ(a[0], 1) << "the first run ended without the second having started";
  EXPECT_EQ(b[0], 1);
  // Each ran on its node only; the other node's entry took no tile.
  EXPECT_EQ(first_report.nodes[0].tiles, 1);
  EXPECT_EQ(first_report.nodes[1].tiles, 0);
  EXPECT_EQ(second_report.nodes[0].tiles, 0);
  EXPECT_EQ(second_report.nodes[1].tiles, 1);
}

// Two runs on disjoint pairs of nodes end together (their four tiles meet) and each tells the
// log a note at its end: the sink is called by one thread at a time.
TEST(Runtime, TheLogSinkIsCalledByOneThreadAtATimeWhenRunsOverlap) {
  static std::atomic<int> arrivals{0};
  arrivals = 0;
  const auto meet_four = make_kernel("meet_four", [](Tile1D tile, View<int> met) {
    ++arrivals;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrivals.load() < 4 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    for (std::int64_t i = tile.begin; i < tile.end; ++i) met[i] = arrivals.load() >= 4 ? 1 : 0;
  });
  std::atomic<bool> inside{false}, overlapped{false};
  std::atomic<int> lines{0};
  RuntimeOptions options;
  options.exact_nodes = {{"serial", {}}, {"serial", {}}, {"serial", {}}, {"serial", {}}};
  options.log = [&](std::string_view) {
    if (inside.exchange(true)) overlapped = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ++lines;
    inside = false;
  };
  Runtime runtime(options);
  auto on_pair = [](std::size_t first) {
    LaunchOptions launch;
    launch.policy = Policy::automatic;  // the note: rates not known yet, shares by lanes
    launch.tile = 1;
    launch.nodes = {first, first + 1};
    return launch;
  };
  std::vector<int> a(2, -1), b(2, -1);
  const RunHandle low = runtime.submit(meet_four, Grid1D{2}, write(a), on_pair(0));
  const RunHandle high = runtime.submit(meet_four, Grid1D{2}, write(b), on_pair(2));
  low.wait();
  high.wait();
  EXPECT_EQ(a, std::vector<int>(2, 1)) << "the runs overlapped";
  EXPECT_EQ(b, std::vector<int>(2, 1));
  EXPECT_GE(lines.load(), 2);
  EXPECT_FALSE(overlapped.load());
}

// The threads of a kernel's tiles, recorded by `record_thread`.
std::mutex recorded_mutex;
std::vector<std::thread::id> recorded_threads;
const auto record_thread = make_kernel("record_thread", [](Tile1D tile, View<int> out) {
  {
    const std::lock_guard lock(recorded_mutex);
    recorded_threads.push_back(std::this_thread::get_id());
  }
  for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = 1;
});

// A host node starts no more workers than a run has tiles: a lone tile runs on the calling
// thread (a lone host node's launch runs there too), and each of n fixed tiles on a worker of
// its own (the openmp node's first is the caller, its team's master).
TEST(Runtime, AHostNodeStartsNoMoreWorkersThanARunHasTiles) {
  for (const std::string name : {"threads", "simd", "openmp"}) {
    if (!NodeRegistry::builtin().describe(name).available) continue;
    SCOPED_TRACE(name);
    RuntimeOptions options;
    NodeOptions four;
    four.workers = 4;
    options.exact_nodes = {{name, four}};
    Runtime runtime(options);
    const auto threads_of_run = [&](std::int64_t size, Policy policy) {
      recorded_threads.clear();
      std::vector<int> out(static_cast<std::size_t>(size), 0);
      LaunchOptions launch;
      launch.tile = 1;
      launch.policy = policy;
      runtime.run(record_thread, Grid1D{size}, write(out), launch);
      EXPECT_EQ(out, std::vector<int>(out.size(), 1));
      return recorded_threads;
    };
    const std::thread::id caller = std::this_thread::get_id();
    for (const Policy policy : {Policy::dynamic, Policy::static_split}) {
      EXPECT_EQ(threads_of_run(1, policy), std::vector<std::thread::id>{caller});
    }
    const std::vector<std::thread::id> three = threads_of_run(3, Policy::static_split);
    const std::set<std::thread::id> distinct(three.begin(), three.end());
    EXPECT_EQ(distinct.size(), 3U);
    EXPECT_EQ(distinct.count(caller), name == "openmp" ? 1U : 0U);
  }
}

TEST(Runtime, ARunWaitsForAnEarlierRunOnOtherNodesThatWritesWhatItReads) {
  static std::atomic<bool> gate_open{false};
  gate_open = false;
  const auto gated_fill =
      Kernel<Tile1D, View<int>>("gated_fill").host([](Tile1D tile, View<int> out) {
        while (!gate_open.load()) std::this_thread::yield();
        for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = static_cast<int>(i) + 1;
      });
  const auto copy = make_kernel("copy", [](Tile1D tile, View<const int> in, View<int> out) {
    for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = in[i];
  });
  Runtime runtime = two_serial_nodes();
  std::vector<int> a(5000, 0), b(5000, 0), c(5000, 0);
  const RunHandle writer = runtime.submit(gated_fill, Grid1D{5000}, write(a), on_node(0));
  const RunHandle reader = runtime.submit(copy, Grid1D{5000}, read_slice(a), write(b), on_node(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(reader.ready()) << "the reader ran before the run writing its input";
  // A blocking run waits too: it starts once the writer is done.
  std::thread opener([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate_open = true;
  });
  runtime.run(copy, Grid1D{5000}, read_slice(a), write(c), on_node(1));
  opener.join();
  EXPECT_TRUE(writer.ready());
  reader.wait();
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(b[i], static_cast<int>(i) + 1) << i;
    ASSERT_EQ(c[i], static_cast<int>(i) + 1) << i;
  }
}

TEST(Runtime, ARunNamingANodeOutOfRangeIsAOneLineError) {
  Runtime runtime = two_serial_nodes();
  std::vector<int> a(10);
  test::expect_one_line_error([&] { runtime.run(meet_kernel, Grid1D{10}, write(a), on_node(2)); },
                              {"names node 2", "2 nodes (0 to 1)"});
  test::expect_one_line_error(
      [&] { static_cast<void>(runtime.submit(meet_kernel, Grid1D{10}, write(a), on_node(5))); },
      {"names node 5"});
}

// The library says nothing unless asked: no output of its own; the log sink gets the plan.
TEST(Runtime, PrintsNothingUnlessGivenALogSink) {
  const auto fill = make_kernel("fill", [](Tile1D tile, View<int> out) {
    for (std::int64_t i = tile.begin; i < tile.end; ++i) out[i] = static_cast<int>(i);
  });
  std::vector<int> out(1000);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  {
    RuntimeOptions options;
    options.nodes = {"threads", "serial"};
    Runtime runtime(options);
    runtime.run(fill, Grid1D{1000}, write(out));
  }
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");

  std::vector<std::string> lines;
  RuntimeOptions options;
  options.nodes = {"threads", "serial"};
  options.log = [&](std::string_view line) { lines.emplace_back(line); };
  Runtime runtime(options);
  EXPECT_FALSE(lines.empty()) << "the CPU split between threads and serial is worth a line";
  EXPECT_EQ(lines, runtime.notes());
}

// The seed preset through the Runtime, as the CLI runs it.
TEST(Runtime, RunsTheSeedPresetOnItsNodes) {
  RuntimeOptions options;
  options.nodes = {"threads"};
  Runtime runtime(options);
  const RunResult result = runtime.run(Job(resolve_job(JobRequest{})));
  EXPECT_EQ(result.report.checksum.sum, test::kSeedSum);
  EXPECT_EQ(result.report.checksum.hash_hex(), test::kSeedHash);
}

// Nodes exactly as asked, as a scaling study needs them: two threads nodes of 1 and 2 workers
// on this 2-core machine are neither merged nor split, and repeated runs are timed.
TEST(Runtime, ExactNodesKeepTheirOwnOptionsAndRepeatedRunsAreTimed) {
  NodeOptions one, two;
  one.workers = 1;
  two.workers = 2;
  RuntimeOptions options;
  options.exact_nodes = {{"threads", one}, {"threads", two}, {"serial", {}}};
  options.nodes = {"no-such-backend"};  // not used with exact nodes
  Runtime runtime(options);
  const std::vector<NodeInfo> nodes = runtime.nodes();
  ASSERT_EQ(nodes.size(), 3U);
  EXPECT_EQ(nodes[0].concurrency, 1);
  EXPECT_EQ(nodes[1].concurrency, 2);
  EXPECT_EQ(runtime.lanes(), 4);
  EXPECT_TRUE(runtime.notes().empty()) << "nothing was planned";
  const TimedRuns timed = runtime.time(Job(resolve_job(JobRequest{})), RunOptions{}, 1, 3);
  EXPECT_EQ(timed.last.report.checksum.sum, test::kSeedSum);
  EXPECT_GT(timed.timing.min_s, 0);
  EXPECT_LE(timed.timing.min_s, timed.timing.median_s);
  EXPECT_LE(timed.timing.median_s, timed.timing.max_s);
}

TEST(Runtime, UnknownBackendIsAOneLineError) {
  RuntimeOptions options;
  options.nodes = {"quantum"};
  test::expect_one_line_error([&] { Runtime runtime(options); }, {"quantum", "known backends are"});
}

}  // namespace
}  // namespace hetero

// The refill kernel's per-lane logic (kernels/cuda/refill.hpp) on the CPU, composed as
// kernels/cuda/tile.cuh composes it: blocks of warps in lock-step rounds, each block sharing a
// chunk counter. Every pixel is written once, with point()'s count and the plain loop's, and the
// iterations add up; also the choice of kernel from HETERO_CUDA_KERNEL. Host code only: builds
// without CUDA.
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/refill.hpp"
#include "mandelbrot.hpp"
#include "test_support.hpp"

namespace hetero::kernels::cuda {
namespace {

/// The contract's recurrence, one step a loop: test_support's plain loop, written out apart
/// from mandelbrot.hpp.
template <class Real, Arith A>
std::uint32_t plain_count(Real cx, Real cy, std::uint32_t max_iter) {
  return test::plain_point<Real>(cx, cy, max_iter, A == Arith::exact ? Mode::exact : Mode::fma);
}

/// An image's axes: pixel p is column p % width, row p / width.
template <class Real>
struct Grid {
  std::vector<Real> xs;
  std::vector<Real> ys;
  std::int64_t width() const { return static_cast<std::int64_t>(xs.size()); }
  std::int64_t pixels() const { return width() * static_cast<std::int64_t>(ys.size()); }
  Real cx(std::int64_t pixel) const { return xs[static_cast<std::size_t>(pixel % width())]; }
  Real cy(std::int64_t pixel) const { return ys[static_cast<std::size_t>(pixel / width())]; }
};

/// Interior points (the limit is reached), points escaping at iterations 0 to 3 (c = -2.5, 1.5,
/// 1 and 0.6 on the real axis), slow escapes near the cardioid's cusp, NaN and infinities.
template <class Real>
Grid<Real> edge_grid() {
  const Real nan = std::numeric_limits<Real>::quiet_NaN();
  const Real inf = std::numeric_limits<Real>::infinity();
  Grid<Real> grid;
  grid.xs = {Real(-2.5), Real(1.5),  Real(1), Real(0.6), Real(0),
             Real(-1),   Real(0.26), nan,     inf,       -inf};
  for (int i = 0; i < 31; ++i) grid.xs.push_back(Real(-2.1) + Real(i) * Real(0.09));
  grid.ys = {Real(0), nan, inf, Real(-0.1), Real(0.7)};
  for (int j = 0; j < 17; ++j) grid.ys.push_back(Real(-1.2) + Real(j) * Real(0.15));
  return grid;
}

/// Points that all escape, for the largest limit.
template <class Real>
Grid<Real> escaping_grid() {
  const Real inf = std::numeric_limits<Real>::infinity();
  Grid<Real> grid;
  grid.xs = {Real(-2.5), Real(1.5),  Real(1), Real(0.6), Real(0.5),
             Real(0.3),  Real(0.26), inf,     -inf};
  grid.ys = {Real(0), Real(1), Real(-2.5), Real(0.7)};
  return grid;
}

/// The launch's result: out[pixel] for every pixel of the grid (kUnwritten where none was
/// written), the writes of each, and the iterations the lanes added up.
struct Launch {
  static constexpr std::uint32_t kUnwritten = 0xDEADBEEFU;
  std::vector<std::uint32_t> out;
  std::vector<int> writes;
  std::uint64_t iterations = 0;
};

/// One block of refill_counts_kernel: `threads` lanes in warps of kWarpLanes over the chunk
/// [first, first + size), each warp taking one loop iteration of the kernel at a time, the
/// warps in an order that changes every time.
template <class Real, Arith A, int Steps>
void run_block(const Grid<Real>& grid, std::int64_t first, std::uint32_t size,
               std::uint32_t max_iter, int threads, Launch& launch) {
  struct Warp {
    std::array<RefillLane<Real>, kWarpLanes> lane{};
    std::array<std::uint32_t, kWarpLanes> offset{};
    std::array<std::uint64_t, kWarpLanes> steps{};  // taken in rounds on the lane's pixel
    bool running = false;
  };
  bool overran = false;  // a round went past max_iter: stop, or the lane would run on
  std::vector<Warp> warps(static_cast<std::size_t>(threads / kWarpLanes));
  std::uint32_t taken = static_cast<std::uint32_t>(threads);  // the shared counter

  const auto start = [&](Warp& warp, int l) {
    const std::uint32_t offset = warp.offset[static_cast<std::size_t>(l)];
    RefillLane<Real>& lane = warp.lane[static_cast<std::size_t>(l)];
    warp.steps[static_cast<std::size_t>(l)] = 0;
    if (offset < size) {
      const std::int64_t pixel = first + offset;
      refill_start(lane, grid.cx(pixel), grid.cy(pixel), max_iter);
    } else {
      refill_retire(lane);
    }
  };
  const auto ballot = [](const std::array<bool, kWarpLanes>& lanes) {
    std::uint32_t bits = 0;
    for (int l = 0; l < kWarpLanes; ++l) {
      if (lanes[static_cast<std::size_t>(l)]) bits |= std::uint32_t{1} << l;
    }
    return bits;
  };
  const auto any_active = [&](const Warp& warp) {
    for (const std::uint32_t offset : warp.offset) {
      if (offset < size) return true;
    }
    return false;
  };
  const auto refill = [&](Warp& warp, std::array<bool, kWarpLanes> ready, std::uint32_t want,
                          std::array<std::uint32_t, kWarpLanes> escape) {
    do {
      const std::uint32_t base = taken;  // the warp's one atomicAdd
      taken += static_cast<std::uint32_t>(std::popcount(want));
      for (int l = 0; l < kWarpLanes; ++l) {
        const auto i = static_cast<std::size_t>(l);
        if (!ready[i]) continue;
        const std::uint32_t count = refill_finish<Real, A, Steps>(warp.lane[i], escape[i]);
        if (warp.offset[i] < size) {
          const auto pixel = static_cast<std::size_t>(first + warp.offset[i]);
          launch.out[pixel] = count;
          ++launch.writes[pixel];
          launch.iterations += iterations_of(count, max_iter);
        }
        warp.offset[i] = base + refill_rank(want, static_cast<unsigned>(l));
        start(warp, l);
        escape[i] = 0;
        ready[i] = refill_ready<Steps>(warp.lane[i], 0);
      }
      want = ballot(ready);
    } while (want != 0);
  };

  for (std::size_t w = 0; w < warps.size(); ++w) {
    std::array<bool, kWarpLanes> ready{};
    for (int l = 0; l < kWarpLanes; ++l) {
      warps[w].offset[static_cast<std::size_t>(l)] =
          static_cast<std::uint32_t>(w) * kWarpLanes + static_cast<std::uint32_t>(l);
      start(warps[w], l);
      ready[static_cast<std::size_t>(l)] =
          refill_ready<Steps>(warps[w].lane[static_cast<std::size_t>(l)], 0);
    }
    if (const std::uint32_t want = ballot(ready); want != 0) refill(warps[w], ready, want, {});
    warps[w].running = any_active(warps[w]);
  }
  // One iteration of the kernel's loop.
  const auto iterate = [&](Warp& warp) {
    std::array<std::uint32_t, kWarpLanes> escape{};
    std::array<bool, kWarpLanes> ready{};
    for (std::size_t i = 0; i < kWarpLanes; ++i) {
      escape[i] = refill_round<Real, A, Steps>(warp.lane[i]);
      ready[i] = refill_ready<Steps>(warp.lane[i], escape[i]);
      warp.steps[i] += Steps;
      if (warp.offset[i] < size && warp.steps[i] > max_iter) {
        ADD_FAILURE() << "pixel " << first + warp.offset[i] << " took " << warp.steps[i]
                      << " steps in rounds, max_iter " << max_iter;
        overran = true;
      }
    }
    if (overran) {
      warp.running = false;
      return;
    }
    const std::uint32_t want = ballot(ready);
    if (want == 0) return;
    refill(warp, ready, want, escape);
    warp.running = any_active(warp);
  };
  std::uint32_t order = 12345;
  for (bool running = true; running && !overran;) {
    running = false;
    order = order * 1103515245U + 12345U;
    const std::size_t rotate = (order >> 16) % warps.size();
    const bool reverse = ((order >> 8) & 1U) != 0;
    for (std::size_t n = 0; n < warps.size(); ++n) {
      const std::size_t k = (n + rotate) % warps.size();
      Warp& warp = warps[reverse ? warps.size() - 1 - k : k];
      if (!warp.running) continue;
      iterate(warp);
      running = running || warp.running;
    }
  }
}

/// The kernel's launch over pixels [begin, end): blocks of `threads` lanes, each owning a chunk
/// of threads * pixels_per_thread pixels.
template <class Real, Arith A, int Steps>
Launch run_launch(const Grid<Real>& grid, std::int64_t begin, std::int64_t end,
                  std::uint32_t max_iter, int threads, int pixels_per_thread) {
  Launch launch;
  launch.out.assign(static_cast<std::size_t>(grid.pixels()), Launch::kUnwritten);
  launch.writes.assign(static_cast<std::size_t>(grid.pixels()), 0);
  const std::int64_t chunk = std::int64_t{threads} * pixels_per_thread;
  for (std::int64_t first = begin; first < end; first += chunk) {
    run_block<Real, A, Steps>(grid, first, refill_chunk_size(first, end, chunk), max_iter, threads,
                              launch);
  }
  return launch;
}

/// Every pixel of [begin, end) written once with point()'s count, which is the plain loop's,
/// none outside, and the iterations those counts cost.
template <class Real, Arith A>
void expect_counts(const Grid<Real>& grid, std::int64_t begin, std::int64_t end,
                   std::uint32_t max_iter, const Launch& launch, const std::string& what) {
  std::uint64_t iterations = 0;
  for (std::int64_t pixel = 0; pixel < grid.pixels(); ++pixel) {
    const auto i = static_cast<std::size_t>(pixel);
    if (pixel < begin || pixel >= end) {
      ASSERT_EQ(launch.writes[i], 0) << what << ": pixel " << pixel << " is outside the range";
      continue;
    }
    ASSERT_EQ(launch.writes[i], 1) << what << ": pixel " << pixel;
    const std::uint32_t count = point<Real, A>(grid.cx(pixel), grid.cy(pixel), max_iter);
    ASSERT_EQ(count, (plain_count<Real, A>(grid.cx(pixel), grid.cy(pixel), max_iter)))
        << what << ": c = " << grid.cx(pixel) << ", " << grid.cy(pixel);
    ASSERT_EQ(launch.out[i], count)
        << what << ": pixel " << pixel << ", c = " << grid.cx(pixel) << ", " << grid.cy(pixel);
    iterations += iterations_of(count, max_iter);
  }
  EXPECT_EQ(launch.iterations, iterations) << what;
}

template <class Real, Arith A, int Steps>
void expect_refill_counts(std::int64_t begin_cut, std::int64_t end_cut, int threads,
                          int pixels_per_thread) {
  const Grid<Real> grid = edge_grid<Real>();
  const std::int64_t begin = begin_cut;
  const std::int64_t end = grid.pixels() - end_cut;
  for (const std::uint32_t max_iter : {0U, 1U, 2U, 3U, 4U, 5U, 7U, 8U, 1000U}) {
    const std::string what = std::string(sizeof(Real) == 8 ? "fp64" : "fp32") +
                             (A == Arith::exact ? " exact" : " fma") + ", " +
                             std::to_string(Steps) + " steps a round, " + std::to_string(threads) +
                             " threads x " + std::to_string(pixels_per_thread) + ", max_iter " +
                             std::to_string(max_iter);
    const Launch launch =
        run_launch<Real, A, Steps>(grid, begin, end, max_iter, threads, pixels_per_thread);
    expect_counts<Real, A>(grid, begin, end, max_iter, launch, what);
  }
}

// The grid has what it is meant to: counts 0 to 3, the limit (interior and NaN points) and
// counts between.
TEST(CudaRefill, TheGridHoldsEveryKindOfPoint) {
  const Grid<double> grid = edge_grid<double>();
  std::set<std::uint32_t> counts;
  for (std::int64_t pixel = 0; pixel < grid.pixels(); ++pixel) {
    counts.insert(point<double, Arith::exact>(grid.cx(pixel), grid.cy(pixel), 1000));
  }
  for (const std::uint32_t count : {0U, 1U, 2U, 3U, 4U, 1000U}) EXPECT_TRUE(counts.count(count));
  EXPECT_GT(counts.size(), 20U);
}

// The kernel's shape: blocks of kRefillBlockThreads lanes with kRefillChunk-pixel chunks, rounds
// of kRefillSteps steps, over a range that starts and ends inside a row.
TEST(CudaRefill, TheKernelsShapeGivesPointsCountForEveryPixel) {
  expect_refill_counts<float, Arith::exact, kRefillSteps>(3, 5, kRefillBlockThreads,
                                                          kRefillPixelsPerThread);
  expect_refill_counts<float, Arith::fma, kRefillSteps>(3, 5, kRefillBlockThreads,
                                                        kRefillPixelsPerThread);
  expect_refill_counts<double, Arith::exact, kRefillSteps>(3, 5, kRefillBlockThreads,
                                                           kRefillPixelsPerThread);
  expect_refill_counts<double, Arith::fma, kRefillSteps>(3, 5, kRefillBlockThreads,
                                                         kRefillPixelsPerThread);
}

// Small chunks (many blocks, a short last one, lanes that retire early and refill often) and
// other round lengths, odd and even.
TEST(CudaRefill, SmallChunksAndOtherRoundsGivePointsCountForEveryPixel) {
  expect_refill_counts<float, Arith::exact, 3>(0, 0, 64, 3);
  expect_refill_counts<float, Arith::fma, 2>(1, 2, 64, 5);
  expect_refill_counts<double, Arith::exact, 1>(7, 0, 32, 4);
  expect_refill_counts<double, Arith::fma, 3>(0, 11, 96, 2);
  expect_refill_counts<double, Arith::exact, kRefillSteps>(40, 40, 64, 2);
}

// The largest limit (2^31-1) on points that all escape: no count overflows or moves.
template <class Real, Arith A>
void expect_largest_limit() {
  constexpr std::uint32_t kLargest = 2147483647U;
  const Grid<Real> grid = escaping_grid<Real>();
  const Launch launch =
      run_launch<Real, A, kRefillSteps>(grid, 0, grid.pixels(), kLargest, kRefillBlockThreads, 1);
  expect_counts<Real, A>(grid, 0, grid.pixels(), kLargest, launch, "largest limit");
  for (const std::uint32_t count : launch.out) EXPECT_LT(count, 100U);
}

TEST(CudaRefill, TheLargestLimitNeitherOverflowsNorChangesACount) {
  expect_largest_limit<float, Arith::exact>();
  expect_largest_limit<float, Arith::fma>();
  expect_largest_limit<double, Arith::exact>();
  expect_largest_limit<double, Arith::fma>();
}

// An empty range writes nothing; a range shorter than one block leaves most lanes retired.
TEST(CudaRefill, EmptyAndTinyRanges) {
  const Grid<double> grid = edge_grid<double>();
  const Launch empty = run_launch<double, Arith::exact, kRefillSteps>(grid, 9, 9, 100, 64, 2);
  for (const int writes : empty.writes) EXPECT_EQ(writes, 0);
  EXPECT_EQ(empty.iterations, 0U);
  const Launch tiny = run_launch<double, Arith::exact, kRefillSteps>(grid, 9, 12, 100, 256, 8);
  expect_counts<double, Arith::exact>(grid, 9, 12, 100, tiny, "tiny range");
}

TEST(CudaRefill, ChunksAndRanks) {
  EXPECT_EQ(refill_chunk_size(0, 0), 0U);
  EXPECT_EQ(refill_chunk_size(10, 5), 0U);
  EXPECT_EQ(refill_chunk_size(0, 5), 5U);
  EXPECT_EQ(refill_chunk_size(0, kRefillChunk + 1), static_cast<std::uint32_t>(kRefillChunk));
  EXPECT_EQ(refill_chunk_size(3, 10, 4), 4U);
  EXPECT_EQ(refill_rank(0b1011U, 0), 0U);
  EXPECT_EQ(refill_rank(0b1011U, 1), 1U);
  EXPECT_EQ(refill_rank(0b1011U, 3), 2U);
  EXPECT_EQ(refill_rank(0xFFFFFFFFU, 31), 31U);
  EXPECT_EQ(refill_rank(0x80000001U, 31), 1U);
}

/// Sets HETERO_CUDA_KERNEL for a scope (unset for nullopt), then restores it.
class KernelVariable {
 public:
  explicit KernelVariable(const std::optional<std::string>& value) {
    if (const char* old = std::getenv(kName)) old_ = old;  // NOLINT(concurrency-mt-unsafe)
    if (value) {
      setenv(kName, value->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      unsetenv(kName);  // NOLINT(concurrency-mt-unsafe)
    }
  }
  ~KernelVariable() {
    if (old_) {
      setenv(kName, old_->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      unsetenv(kName);  // NOLINT(concurrency-mt-unsafe)
    }
  }
  KernelVariable(const KernelVariable&) = delete;
  KernelVariable& operator=(const KernelVariable&) = delete;

 private:
  static constexpr const char* kName = "HETERO_CUDA_KERNEL";
  std::optional<std::string> old_;
};

TEST(CudaRefill, TheKernelComesFromTheEnvironment) {
  {
    const KernelVariable unset(std::nullopt);
    EXPECT_EQ(counts_kernel_from_environment(), CountsKernel::refill);
  }
  {
    const KernelVariable empty(std::string{});
    EXPECT_EQ(counts_kernel_from_environment(), CountsKernel::refill);
  }
  for (const CountsKernel kernel : {CountsKernel::refill, CountsKernel::per_pixel}) {
    const KernelVariable named(std::string(counts_kernel_name(kernel)));
    EXPECT_EQ(counts_kernel_from_environment(), kernel);
  }
  EXPECT_EQ(counts_kernel_name(CountsKernel::refill), "refill");
  EXPECT_EQ(counts_kernel_name(CountsKernel::per_pixel), "per_pixel");
  for (const std::string wrong : {"per-pixel", "Refill", "refill ", "0"}) {
    const KernelVariable named(wrong);
    try {
      counts_kernel_from_environment();
      ADD_FAILURE() << "\"" << wrong << "\" was accepted";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("HETERO_CUDA_KERNEL"), std::string::npos) << message;
      EXPECT_NE(message.find("\"" + wrong + "\""), std::string::npos) << message;
      EXPECT_NE(message.find("refill"), std::string::npos) << message;
      EXPECT_NE(message.find("per_pixel"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace hetero::kernels::cuda

// CUDA Mandelbrot kernels: refill (a lane that finishes its pixel takes the next one of its
// block's chunk, so a warp's rounds wait less for its slowest lane) and per-pixel (one thread per
// pixel), both computing the single-source point function's counts.
#pragma once

#include <cstdint>

#include "cuda/refill.hpp"
#include "mandelbrot.hpp"

namespace hetero::kernels::cuda {

/// Threads per block of the per-pixel kernel: eight warps.
inline constexpr int kBlockThreads = 256;
inline constexpr unsigned kFullWarp = 0xFFFFFFFFU;

/// The point c of pixel `pixel` (row-major, `width` columns; xs by column, ys by row).
template <class Real>
__device__ __forceinline__ void pixel_point(const Real* __restrict__ xs,
                                            const Real* __restrict__ ys, std::int64_t width,
                                            std::int64_t pixel, Real& cx, Real& cy) {
  const std::int64_t row = pixel / width;
  cx = xs[pixel - row * width];
  cy = ys[row];
}

/// Adds the block's `mine` (one per thread) to *total with one atomic: warp shuffles, then the
/// warps' sums in shared memory. Every thread of the block (Threads, a multiple of the warp)
/// must call it.
template <int Threads>
__device__ __forceinline__ void add_block_iterations(std::uint64_t mine, std::uint64_t* total) {
  static_assert(Threads % kWarpLanes == 0 && Threads / kWarpLanes <= kWarpLanes);
  static_assert(sizeof(unsigned long long) == sizeof(std::uint64_t));
  constexpr int kWarps = Threads / kWarpLanes;
  __shared__ unsigned long long warp_sums[kWarps];
  auto sum = static_cast<unsigned long long>(mine);
  for (int offset = kWarpLanes / 2; offset > 0; offset /= 2) {
    sum += __shfl_down_sync(kFullWarp, sum, offset);
  }
  const unsigned warp = threadIdx.x / kWarpLanes;
  const unsigned lane = threadIdx.x % kWarpLanes;
  if (lane == 0) warp_sums[warp] = sum;
  __syncthreads();
  if (warp != 0) return;
  sum = lane < kWarps ? warp_sums[lane] : 0ULL;
  for (int offset = kWarpLanes / 2; offset > 0; offset /= 2) {
    sum += __shfl_down_sync(kFullWarp, sum, offset);
  }
  if (lane == 0 && sum != 0) atomicAdd(reinterpret_cast<unsigned long long*>(total), sum);
}

/// The counts of pixels [begin, end), one thread each, writing out[pixel] (out indexed by
/// pixel); adds their iterations to *iterations unless it is null.
template <class Real, Arith A>
__global__ void __launch_bounds__(kBlockThreads)
    counts_kernel(const Real* __restrict__ xs, const Real* __restrict__ ys, std::int64_t width,
                  std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                  std::uint32_t* __restrict__ out, std::uint64_t* __restrict__ iterations) {
  const std::int64_t pixel =
      begin + static_cast<std::int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x;
  std::uint64_t done = 0;
  if (pixel < end) {
    Real cx, cy;
    pixel_point(xs, ys, width, pixel, cx, cy);
    const std::uint32_t count = point<Real, A>(cx, cy, max_iter);
    out[pixel] = count;
    done = iterations_of(count, max_iter);
  }
  if (iterations != nullptr) add_block_iterations<kBlockThreads>(done, iterations);
}

/// The counts of pixels [begin, end) into out[pixel], as counts_kernel, with refill: block b owns
/// the chunk [begin + b * kRefillChunk, + kRefillChunk) of the range; thread t starts on its
/// chunk's pixel t and runs rounds of kRefillSteps steps; when a lane's pixel is finished
/// (refill_ready), it writes the count and takes the chunk's next untaken pixel from a shared
/// counter (one atomic per warp for all its finished lanes), or retires when none is left. A
/// warp leaves when all its lanes have retired.
template <class Real, Arith A>
__global__ void __launch_bounds__(kRefillBlockThreads)
    refill_counts_kernel(const Real* __restrict__ xs, const Real* __restrict__ ys,
                         std::int64_t width, std::int64_t begin, std::int64_t end,
                         std::uint32_t max_iter, std::uint32_t* __restrict__ out,
                         std::uint64_t* __restrict__ iterations) {
  __shared__ std::uint32_t taken;  // pixels of the chunk taken so far
  const std::int64_t first = begin + static_cast<std::int64_t>(blockIdx.x) * kRefillChunk;
  const std::uint32_t size = refill_chunk_size(first, end);
  if (threadIdx.x == 0) taken = kRefillBlockThreads;
  __syncthreads();
  const unsigned lane_id = threadIdx.x % kWarpLanes;
  std::uint32_t offset = threadIdx.x;  // of the lane's pixel in the chunk; >= size: retired
  RefillLane<Real> lane;
  std::uint64_t done = 0;
  const auto start = [&] {
    if (offset < size) {
      Real cx, cy;
      pixel_point(xs, ys, width, first + offset, cx, cy);
      refill_start(lane, cx, cy, max_iter);
    } else {
      refill_retire(lane);
    }
  };
  // Until no lane is ready: each ready lane writes its count and takes the next pixel (ready at
  // once when max_iter < kRefillSteps). `escape`: the round's result (0: no round ran).
  const auto refill = [&](bool ready, unsigned want, std::uint32_t escape) {
    do {
      std::uint32_t base = 0;
      if (lane_id == 0) base = atomicAdd(&taken, static_cast<std::uint32_t>(__popc(want)));
      base = __shfl_sync(kFullWarp, base, 0);
      if (ready) {
        const std::uint32_t count = refill_finish<Real, A, kRefillSteps>(lane, escape);
        if (offset < size) {
          out[first + offset] = count;
          done += iterations_of(count, max_iter);
        }
        offset = base + refill_rank(want, lane_id);
        start();
        escape = 0;
        ready = refill_ready<kRefillSteps>(lane, 0);
      }
      want = __ballot_sync(kFullWarp, ready);
    } while (want != 0);
  };
  start();
  const bool ready_at_start = refill_ready<kRefillSteps>(lane, 0);
  const unsigned want_at_start = __ballot_sync(kFullWarp, ready_at_start);
  if (want_at_start != 0) refill(ready_at_start, want_at_start, 0);
  // Every lane, retired or not, takes every round: the rounds branch only on the warp's vote.
  if (__any_sync(kFullWarp, offset < size)) {
    for (;;) {
      const std::uint32_t escape = refill_round<Real, A, kRefillSteps>(lane);
      const bool ready = refill_ready<kRefillSteps>(lane, escape);
      const unsigned want = __ballot_sync(kFullWarp, ready);
      if (want == 0) continue;
      refill(ready, want, escape);
      if (!__any_sync(kFullWarp, offset < size)) break;
    }
  }
  if (iterations != nullptr) add_block_iterations<kRefillBlockThreads>(done, iterations);
}

}  // namespace hetero::kernels::cuda

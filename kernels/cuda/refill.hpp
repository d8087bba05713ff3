// The refill kernel's per-lane logic, in plain C++ for host and device: a lane holds one pixel's
// state, advances it a round of steps at a time and, once the pixel is finished, takes the next
// pixel of its block's chunk. kernels/cuda/tile.cuh composes these functions with a shared chunk
// counter; the CPU tests compose them the same way. Also the choice between the CUDA counts
// kernels (host only).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include "mandelbrot.hpp"

#if defined(__CUDACC__)
#define HETERO_UNROLL _Pragma("unroll")
#else
#define HETERO_UNROLL
#endif

namespace hetero::kernels::cuda {

/// The CUDA counts kernels: refill (lanes take the next pixel of their block's chunk when theirs
/// is finished) and per_pixel (one thread per pixel).
enum class CountsKernel : std::uint8_t { refill, per_pixel };

/// The kernel's name as HETERO_CUDA_KERNEL spells it.
inline std::string_view counts_kernel_name(CountsKernel kernel) {
  return kernel == CountsKernel::per_pixel ? "per_pixel" : "refill";
}

/// The kernel HETERO_CUDA_KERNEL names: "refill" (also when unset or empty) or "per_pixel";
/// throws std::invalid_argument for any other value.
inline CountsKernel counts_kernel_from_environment() {
  const char* text = std::getenv("HETERO_CUDA_KERNEL");  // NOLINT(concurrency-mt-unsafe)
  const std::string_view value = text == nullptr ? std::string_view() : std::string_view(text);
  if (value.empty() || value == counts_kernel_name(CountsKernel::refill)) {
    return CountsKernel::refill;
  }
  if (value == counts_kernel_name(CountsKernel::per_pixel)) return CountsKernel::per_pixel;
  throw std::invalid_argument("HETERO_CUDA_KERNEL=\"" + std::string(value) +
                              "\" names no CUDA counts kernel; accepted: refill (the default), "
                              "per_pixel");
}

/// Lanes of a warp.
inline constexpr int kWarpLanes = 32;
/// Threads per block of the refill kernel: eight warps.
inline constexpr int kRefillBlockThreads = 256;
/// Pixels per thread in a block's chunk: the pool a lane refills from.
inline constexpr int kRefillPixelsPerThread = 8;
/// Pixels per block: block b owns pixels [begin + b * kRefillChunk, + kRefillChunk) of a launch.
inline constexpr std::int64_t kRefillChunk =
    std::int64_t{kRefillBlockThreads} * kRefillPixelsPerThread;
/// Steps per round: escape tests between two refill decisions.
inline constexpr int kRefillSteps = 4;

/// The pixels the chunk starting at `first` holds of a launch ending at `end` (none when
/// first >= end), chunks being `chunk` pixels long.
HETERO_KERNEL_FN std::uint32_t refill_chunk_size(std::int64_t first, std::int64_t end,
                                                 std::int64_t chunk = kRefillChunk) {
  const std::int64_t left = end - first;
  return left <= 0 ? 0U : static_cast<std::uint32_t>(left < chunk ? left : chunk);
}

/// The rank of `lane` among the lanes set in `finished` (a warp's ballot): the offset, from the
/// warp's share of the chunk counter, of the pixel the lane takes next.
HETERO_KERNEL_FN std::uint32_t refill_rank(std::uint32_t finished, unsigned lane) {
  const std::uint32_t below = finished & ((std::uint32_t{1} << lane) - 1U);
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint32_t>(__popc(below));
#else
  // Bit count without <bit>: the .cu files may be built as C++17.
  std::uint32_t bits = below - ((below >> 1) & 0x55555555U);
  bits = (bits & 0x33333333U) + ((bits >> 2) & 0x33333333U);
  return (((bits + (bits >> 4)) & 0x0F0F0F0FU) * 0x01010101U) >> 24;
#endif
}

/// The state of a lane's pixel between rounds.
template <class Real>
struct RefillLane {
  Real x, y;    // z
  Real xx, yy;  // x * x and y * y in exact mode (see escapes()); unused in fma mode
  Real cx, cy;  // c, the pixel's point
  /// Steps the pixel may take: max_iter; the largest value for a retired lane.
  std::uint32_t stop;
  /// Steps left of the stop ones (steps taken: stop - left).
  std::uint32_t left;
};

// Instantiated per instruction set like the point function they call (see mandelbrot.hpp).
inline namespace HETERO_KERNELS_ISA {

/// Starts the pixel c = (cx, cy): z = 0, no step taken, max_iter to go.
template <class Real>
HETERO_KERNEL_FN void refill_start(RefillLane<Real>& lane, Real cx, Real cy,
                                   std::uint32_t max_iter) {
  lane.x = lane.y = lane.xx = lane.yy = Real(0);
  lane.cx = cx;
  lane.cy = cy;
  lane.stop = lane.left = max_iter;
}

/// Retires a lane whose chunk has no pixel left: it goes on taking rounds with its warp, so the
/// rounds need no branch for it, on c = NaN, which never escapes (every comparison with NaN is
/// false), with the largest step limit: it is refill_ready() only after 2^32 - 4 steps, and then
/// retires again.
template <class Real>
HETERO_KERNEL_FN void refill_retire(RefillLane<Real>& lane) {
#if defined(__CUDA_ARCH__)
  const Real nan = static_cast<Real>(::nan(""));
#else
  const Real nan = std::numeric_limits<Real>::quiet_NaN();
#endif
  refill_start(lane, nan, nan, 0xFFFFFFFFU);
}

/// Runs one round: Steps steps, the steps of point_two_steps_a_round, with no branch between
/// them. Returns 0 if none escaped, else 1 + the first that did (the steps after it change only
/// z, which no longer counts). The lane must not be refill_ready().
template <class Real, Arith A, int Steps>
HETERO_KERNEL_FN std::uint32_t refill_round(RefillLane<Real>& lane) {
  static_assert(Steps >= 1);
  bool escaped[Steps];
  HETERO_UNROLL
  for (int k = 0; k < Steps; ++k) {
    escaped[k] = escapes<Real, A>(lane.x, lane.y, lane.xx, lane.yy, lane.cx, lane.cy);
  }
  lane.left -= static_cast<std::uint32_t>(Steps);
  std::uint32_t escape = 0;
  HETERO_UNROLL
  for (int k = Steps - 1; k >= 0; --k) {
    if (escaped[k]) escape = static_cast<std::uint32_t>(k + 1);
  }
  return escape;
}

/// True when the pixel leaves the rounds: a step of its last round escaped (`escape`, that
/// round's result; 0 for a pixel just started), or fewer than Steps of its steps are left.
template <int Steps, class Real>
HETERO_KERNEL_FN bool refill_ready(const RefillLane<Real>& lane, std::uint32_t escape) {
  static_assert(Steps >= 1);
  return escape != 0 || lane.left < static_cast<std::uint32_t>(Steps);
}

/// The count of a refill_ready() pixel, equal to point<Real, A>(cx, cy, max_iter): the first
/// step of its last round that escaped (`escape` as for refill_ready()), else the first of its
/// last `left` (< Steps) steps that escapes, else stop.
template <class Real, Arith A, int Steps>
HETERO_KERNEL_FN std::uint32_t refill_finish(RefillLane<Real>& lane, std::uint32_t escape) {
  if (escape != 0) return lane.stop - lane.left - static_cast<std::uint32_t>(Steps) + escape - 1;
  for (; lane.left != 0; --lane.left) {
    if (escapes<Real, A>(lane.x, lane.y, lane.xx, lane.yy, lane.cx, lane.cy)) {
      return lane.stop - lane.left;
    }
  }
  return lane.stop;
}

}  // namespace HETERO_KERNELS_ISA
}  // namespace hetero::kernels::cuda

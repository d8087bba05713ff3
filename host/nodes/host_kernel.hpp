// Host tile kernels: the scalar reference and any other a backend registers (e.g. simd),
// chosen by name at run time and instantiated per (precision, mode) at compile time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hetero/job.hpp"
#include "hetero/node.hpp"
#include "hetero/trace.hpp"
#include "scalar/tile.hpp"

namespace hetero::detail {
class ThreadPool;
}

namespace hetero::nodes {

/// Computes pixels [begin, end) of `job` into out[0, end - begin); returns iterations.
using HostTileKernel = std::uint64_t (*)(const Job& job, std::int64_t begin, std::int64_t end,
                                         std::uint32_t* out);
/// Picks the instantiation of a kernel family for a job's (precision, mode).
using HostKernelFamily = HostTileKernel (*)(const Job& job);

/// Makes a kernel family selectable by name (`--kernel NAME`). Called by backend registration.
void register_host_kernel(std::string name, HostKernelFamily family);
/// Names of the registered kernels, "scalar" first.
std::vector<std::string> host_kernel_names();
/// The kernel `name` for `job`; throws UsageError naming the known kernels when unknown.
HostTileKernel host_kernel(std::string_view name, const Job& job);

template <class Real, kernels::Arith A>
std::uint64_t scalar_tile(const Job& job, std::int64_t begin, std::int64_t end,
                          std::uint32_t* out) {
  const AxesView<Real> axes = job.axes<Real>();
  return kernels::scalar::tile<Real, A>(axes.xs, axes.ys, axes.width, begin, end, job.max_iter(),
                                        out);
}

/// The scalar kernel instantiated for the job's (precision, mode).
inline HostTileKernel scalar_kernel(const Job& job) {
  const bool exact = job.mode() == Mode::exact;
  if (job.precision() == Precision::fp64) {
    return exact ? scalar_tile<double, kernels::Arith::exact>
                 : scalar_tile<double, kernels::Arith::fma>;
  }
  return exact ? scalar_tile<float, kernels::Arith::exact>
               : scalar_tile<float, kernels::Arith::fma>;
}

/// Computes one tile into its place in `counts`, records it on `lane` and reports it done.
inline void run_tile(HostTileKernel kernel, const Job& job, const Tile& tile,
                     std::span<std::uint32_t> counts, TraceLane& lane, WorkSource& work) {
  const std::int64_t begin = lane.now_ns();
  const std::uint64_t iterations = kernel(job, tile.begin, tile.end, counts.data() + tile.begin);
  lane.compute(tile, begin, lane.now_ns(), iterations);
  work.completed(tile);
}

/// Runs `kernel` over the tiles `work` hands out on every worker of `pool`, one trace lane per
/// worker: static policies give each worker one contiguous block of the node's tiles,
/// self-scheduling ones have each worker pull the next tile from the shared queue.
void run_on_pool(detail::ThreadPool& pool, HostTileKernel kernel, const Job& job, WorkSource& work,
                 std::span<std::uint32_t> counts, NodeTrace& trace);

/// The contiguous block [first, last) of `count` items that lane `lane` of `lanes` owns.
inline std::pair<std::size_t, std::size_t> lane_block(std::size_t count, int lane, int lanes) {
  const auto l = static_cast<std::size_t>(lane);
  const auto n = static_cast<std::size_t>(lanes);
  return {count * l / n, count * (l + 1) / n};
}

}  // namespace hetero::nodes

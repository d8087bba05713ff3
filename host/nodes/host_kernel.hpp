// Host tile kernels: the scalar reference and any other a backend registers (e.g. simd),
// chosen by name at run time and instantiated per (precision, mode) at compile time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/job.hpp"
#include "hetero/backend/node.hpp"
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

/// The contiguous block [first, last) of `count` items that lane `lane` of `lanes` owns.
inline std::pair<std::size_t, std::size_t> lane_block(std::size_t count, int lane, int lanes) {
  const auto l = static_cast<std::size_t>(lane);
  const auto n = static_cast<std::size_t>(lanes);
  return {count * l / n, count * (l + 1) / n};
}

/// Calls `run_one(tile)` for each tile `work` gives worker `worker` of `workers`: under a
/// static policy a contiguous block of the node's assigned tiles, under a self-scheduling one
/// the next tile of the shared queue until it is empty. Stops between tiles once a stop is
/// requested.
template <class RunOne>
void for_each_tile(WorkSource& work, int worker, int workers, RunOne&& run_one) {
  if (work.self_scheduling()) {
    while (const auto tile = work.next()) run_one(*tile);
    return;
  }
  const std::span<const Tile> assigned = work.assigned();
  const auto [first, last] = lane_block(assigned.size(), worker, workers);
  for (std::size_t i = first; i < last && !work.stop_requested(); ++i) run_one(assigned[i]);
}

/// One tile on one worker's lane.
using HostTileTask = std::function<void(const Tile& tile, TraceLane& lane)>;

/// Runs `task` over the tiles `work` hands out on every worker of `pool`, one trace lane per
/// worker (see for_each_tile).
void run_on_pool(detail::ThreadPool& pool, WorkSource& work, NodeTrace& trace,
                 const HostTileTask& task);

/// Runs the Mandelbrot tile kernel on `pool` (see above).
void run_on_pool(detail::ThreadPool& pool, HostTileKernel kernel, const Job& job, WorkSource& work,
                 std::span<std::uint32_t> counts, NodeTrace& trace);

/// Whether a host node can run `kernel`: it needs a host implementation.
bool host_can_run(const NodeInfo& node, const backend::KernelDefinition& kernel, std::string& why);

/// Computes one tile of a user's kernel with its host implementation, records it on `lane`
/// (its work units as the event's iterations) and reports it done.
void run_host_tile(const backend::Launch& launch, const Tile& tile, TraceLane& lane,
                   WorkSource& work);

}  // namespace hetero::nodes

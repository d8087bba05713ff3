// The openmp node.
#include "node.hpp"

#include <atomic>
#include <exception>

#include <fmt/format.h>
#include <omp.h>

#include "../host_kernel.hpp"
#include "core/host_info.hpp"
#include "hetero/registry.hpp"

namespace hetero::nodes {

NodeInfo OpenMPNode::describe(const NodeOptions& options) {
  NodeInfo info;
  info.name = "openmp";
  info.kind = NodeKind::host;
  info.concurrency = options.workers > 0 ? options.workers : omp_get_max_threads();
  info.tile_kernel = options.kernel;
  info.device =
      fmt::format("{} ({} OpenMP threads, OpenMP {}{})", detail::host_cpu_name(), info.concurrency,
                  _OPENMP, options.kernel == "scalar" ? "" : ", " + options.kernel + " kernel");
  info.resource = "host-cpu";
  info.adjustable_workers = true;
  info.available = true;
  return info;
}

OpenMPNode::OpenMPNode(const NodeOptions& options) : info_(describe(options)) {}

namespace {

// Runs `task` over the tiles `work` gives the node on `threads` OpenMP threads, one lane each:
// `omp for schedule(static)` over the assigned tiles, or each thread pulling from the queue.
// Exceptions must not leave an OpenMP region: each tile's is caught, the rest skipped, and the
// first rethrown after it.
void run_on_openmp(int threads, WorkSource& work, NodeTrace& trace, const HostTileTask& task) {
  trace.reserve_lanes(threads);
  const std::span<const Tile> assigned = work.assigned();
  const auto tile_count = static_cast<std::int64_t>(assigned.size());
  const bool self_scheduling = work.self_scheduling();
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  auto guarded_tile = [&](const Tile& tile, TraceLane& lane) {
    if (failed.load(std::memory_order_relaxed)) return;
    try {
      task(tile, lane);
    } catch (...) {
#pragma omp critical(hetero_openmp_error)
      if (!error) error = std::current_exception();
      failed = true;
    }
  };

#pragma omp parallel num_threads(threads)
  {
    TraceLane& lane = trace.lane(omp_get_thread_num());
    if (self_scheduling) {
      while (!failed.load(std::memory_order_relaxed)) {
        const auto tile = work.next();
        if (!tile) break;
        guarded_tile(*tile, lane);
      }
    } else {
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < tile_count; ++i) {
        if (!work.stop_requested()) guarded_tile(assigned[static_cast<std::size_t>(i)], lane);
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

bool OpenMPNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  return host_can_run(info_, kernel, why);
}

void OpenMPNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  const backend::HostImplementation& implementation = host_implementation(info_, *launch.kernel);
  // One thread for a lone tile: a region of one runs on the calling thread, waking no team.
  run_on_openmp(workers_for(info_.concurrency, work), work, trace,
                [&](const Tile& tile, TraceLane& lane) {
                  run_host_tile(launch, implementation, tile, lane, work);
                });
}

void register_openmp(NodeRegistry& registry) {
  registry.add(Backend{
      "openmp", NodeKind::host, true, {}, &OpenMPNode::describe, [](const NodeOptions& options) {
        return std::make_unique<OpenMPNode>(options);
      }});
}

}  // namespace hetero::nodes

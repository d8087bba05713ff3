// The threads node.
#include "node.hpp"

#include <fmt/format.h>

#include "../host_kernel.hpp"
#include "core/host_info.hpp"
#include "core/thread_pool.hpp"
#include "hetero/registry.hpp"

namespace hetero::nodes {

NodeInfo ThreadsNode::describe(const NodeOptions& options) {
  NodeInfo info;
  info.name = "threads";
  info.kind = NodeKind::host;
  info.concurrency = options.workers > 0 ? options.workers : detail::host_hardware_threads();
  info.device = fmt::format("{} ({} std::threads)", detail::host_cpu_name(), info.concurrency);
  info.resource = "host-cpu";
  info.adjustable_workers = true;
  info.available = true;
  return info;
}

ThreadsNode::ThreadsNode(const NodeOptions& options)
    : info_(describe(options)),
      kernel_(options.kernel),
      pool_(std::make_unique<detail::ThreadPool>(info_.concurrency)) {}

ThreadsNode::~ThreadsNode() = default;

void ThreadsNode::run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                      NodeTrace& trace) {
  const HostTileKernel kernel = host_kernel(kernel_, job);
  const int lanes = pool_->size();
  trace.reserve_lanes(lanes);
  const std::span<const Tile> assigned = work.assigned();
  pool_->run_on_all([&](int worker) {
    TraceLane& lane = trace.lane(worker);
    if (work.self_scheduling()) {
      while (const auto tile = work.next()) run_tile(kernel, job, *tile, counts, lane, work);
      return;
    }
    const auto [first, last] = lane_block(assigned.size(), worker, lanes);
    for (std::size_t i = first; i < last && !work.stop_requested(); ++i) {
      run_tile(kernel, job, assigned[i], counts, lane, work);
    }
  });
}

void register_threads(NodeRegistry& registry) {
  registry.add(Backend{
      "threads", NodeKind::host, true, {}, &ThreadsNode::describe, [](const NodeOptions& options) {
        return std::make_unique<ThreadsNode>(options);
      }});
}

}  // namespace hetero::nodes

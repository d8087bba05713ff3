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
  info.tile_kernel = options.kernel;
  info.device = fmt::format("{} ({} std::threads{})", detail::host_cpu_name(), info.concurrency,
                            options.kernel == "scalar" ? "" : ", " + options.kernel + " kernel");
  info.resource = "host-cpu";
  info.adjustable_workers = true;
  info.available = true;
  return info;
}

ThreadsNode::ThreadsNode(const NodeOptions& options)
    : info_(describe(options)), pool_(std::make_unique<detail::ThreadPool>(info_.concurrency)) {}

ThreadsNode::~ThreadsNode() = default;

bool ThreadsNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  return host_can_run(info_, kernel, why);
}

void ThreadsNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  const backend::HostImplementation& implementation = host_implementation(info_, *launch.kernel);
  run_on_pool(*pool_, work, trace, [&](const Tile& tile, TraceLane& lane) {
    run_host_tile(launch, implementation, tile, lane, work);
  });
}

void register_threads(NodeRegistry& registry) {
  registry.add(Backend{
      "threads", NodeKind::host, true, {}, &ThreadsNode::describe, [](const NodeOptions& options) {
        return std::make_unique<ThreadsNode>(options);
      }});
}

}  // namespace hetero::nodes

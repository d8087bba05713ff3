// The serial node.
#include "node.hpp"

#include "../host_kernel.hpp"
#include "core/host_info.hpp"
#include "hetero/registry.hpp"

namespace hetero::nodes {

NodeInfo SerialNode::describe() {
  NodeInfo info;
  info.name = "serial";
  info.kind = NodeKind::host;
  info.device = detail::host_cpu_name() + " (1 thread)";
  info.resource = "host-cpu";
  info.concurrency = 1;
  info.tile_kernel = "scalar";
  info.available = true;
  return info;
}

SerialNode::SerialNode() : info_(describe()) {}

bool SerialNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  return host_can_run(info_, kernel, why);
}

void SerialNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  const backend::HostImplementation& implementation = host_implementation(info_, *launch.kernel);
  TraceLane& lane = trace.lane(0);
  for_each_tile(work, 0, 1,
                [&](const Tile& tile) { run_host_tile(launch, implementation, tile, lane, work); });
}

void register_serial(NodeRegistry& registry) {
  registry.add(Backend{"serial",
                       NodeKind::host,
                       true,
                       {},
                       [](const NodeOptions&) { return SerialNode::describe(); },
                       [](const NodeOptions&) { return std::make_unique<SerialNode>(); }});
}

}  // namespace hetero::nodes

// The opencl node.
#include "node.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "clock.hpp"
#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "kernel_runner.hpp"
#include "link_probe.hpp"
#include "runtime.hpp"
#include "space.hpp"

namespace hetero::nodes {
namespace {

NodeInfo base_info() {
  NodeInfo info;
  info.name = "opencl";
  info.kind = NodeKind::device;
  info.concurrency = OpenCLNode::kQueues;
  return info;
}

// The device and its link as far as it is known: describing never measures (the node measures
// its link when it is created, `hetero probe` on demand).
NodeInfo describe_device(const opencl::DeviceSummary& device) {
  NodeInfo info = base_info();
  info.device = device.describe();
  info.resource = device.resource;
  info.available = true;
  info.link =
      known_link(opencl::link_identity(device), Staging::pageable).value_or(unmeasured_link());
  return info;
}

}  // namespace

struct OpenCLNode::State {
  opencl::Device device;
  opencl::Context context;
  std::array<opencl::Queue, kQueues> queues;
  std::unique_ptr<opencl::OpenCLSpace> space;
  std::unique_ptr<opencl::KernelRunner> kernels;
};

OpenCLNode::OpenCLNode(const NodeOptions& options) : state_(std::make_unique<State>()) {
  std::string problem;
  const std::vector<opencl::Device> devices = opencl::discover_devices(&problem);
  opencl::DeviceList list;
  list.problem = problem;
  for (const opencl::Device& device : devices) list.devices.push_back(device.summary);
  state_->device = opencl::find_device(devices, opencl::select_device(list, options.device));
  state_->context = opencl::create_context(state_->device);
  for (opencl::Queue& queue : state_->queues) {
    queue = opencl::create_profiling_queue(state_->context.get(), state_->device);
  }
  const opencl::DeviceSummary& summary = state_->device.summary;
  state_->space = std::make_unique<opencl::OpenCLSpace>(
      state_->context.get(), state_->queues[0].get(),
      fmt::format("opencl device {}", summary.index()), summary.max_allocation_bytes);
  state_->space->set_limit(options.memory.of(summary.free_memory_bytes));
  state_->kernels = std::make_unique<opencl::KernelRunner>(
      state_->device, state_->context.get(),
      std::array<cl_command_queue, kQueues>{state_->queues[0].get(), state_->queues[1].get()},
      *state_->space);
  info_ = describe_device(summary);
  try {
    info_.link = opencl::device_link(summary);
  } catch (const Error& e) {
    throw Error(fmt::format("{} cannot be used: {}", summary.describe(), e.what()));
  }
}

OpenCLNode::~OpenCLNode() = default;

bool OpenCLNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  return state_->kernels->can_run(kernel, why);
}

const backend::OpenCLImplementation* OpenCLNode::implementation(
    const backend::KernelDefinition& kernel) const {
  return state_->kernels->choose(kernel);
}

void OpenCLNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  state_->kernels->run(launch, work, trace);
}

NodeInfo OpenCLNode::describe(const NodeOptions& options) {
  NodeInfo info = base_info();
  try {
    const opencl::DeviceList list = opencl::list_devices();
    return describe_device(opencl::select_device(list, options.device));
  } catch (const Error& e) {
    info.reason = e.what();
  }
  return info;
}

std::vector<NodeInfo> OpenCLNode::enumerate() {
  std::vector<NodeInfo> infos;
  try {
    const opencl::DeviceList list = opencl::list_devices();
    for (const opencl::DeviceSummary& device : list.devices) {
      infos.push_back(describe_device(device));
    }
    if (list.devices.empty()) {
      infos.push_back(base_info());
      infos.back().reason = list.problem;
    }
  } catch (const Error& e) {
    infos.push_back(base_info());
    infos.back().reason = e.what();
  }
  return infos;
}

Link OpenCLNode::probe(const NodeOptions& options) {
  const opencl::DeviceList list = opencl::list_devices();
  return opencl::device_link(opencl::select_device(list, options.device), LinkLookup::remeasure);
}

MemorySpace* OpenCLNode::memory_space() {
  return state_->space.get();
}

void register_opencl(NodeRegistry& registry) {
  Backend backend;
  backend.name = "opencl";
  backend.kind = NodeKind::device;
  backend.built = true;
  backend.describe = &OpenCLNode::describe;
  backend.create = [](const NodeOptions& options) -> std::unique_ptr<Node> {
    return std::make_unique<OpenCLNode>(options);
  };
  backend.enumerate = &OpenCLNode::enumerate;
  backend.probe = &OpenCLNode::probe;
  registry.add(std::move(backend));
}

}  // namespace hetero::nodes

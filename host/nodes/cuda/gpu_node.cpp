// What the cuda and thrust nodes share.
#include "nodes/cuda/gpu_node.hpp"

namespace hetero::nodes::cuda {

GpuNode::GpuNode(std::string_view name, const NodeOptions& options, int lanes)
    : info_(describe_node(name, options, lanes)),
      device_(select_device(name, options)),
      lanes_(lanes) {
  use_device(name, device_);
  const DeviceProperties& properties = device_list().devices.at(static_cast<std::size_t>(device_));
  const std::int64_t resident_threads =
      std::int64_t{properties.multiprocessors} * properties.threads_per_multiprocessor;
  space_ = std::make_unique<DeviceSpace>(std::string(name), device_);
  staging_ = std::make_shared<PinnedHostSpace>(std::string(name), device_);
  space_->set_limit(options.memory.of(free_memory(name, device_)));
  kernels_ = std::make_unique<KernelRunner>(name, device_, *space_, lanes, name == "thrust",
                                            resident_threads);
  info_.link = device_link(name, device_, LinkLookup::cached);
}

GpuNode::~GpuNode() {
  make_current();
}

void GpuNode::make_current() const noexcept {
  static_cast<void>(cudaSetDevice(device_));
}

bool GpuNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  return kernels_->can_run(kernel, why);
}

void GpuNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  kernels_->run(launch, work, trace);
}

}  // namespace hetero::nodes::cuda

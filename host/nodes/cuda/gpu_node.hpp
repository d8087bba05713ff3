// What the cuda and thrust nodes share, written once: one CUDA GPU chosen by the options, its
// memory capped by them, its measured link, user kernels through the shared device pipeline, and
// the registry entry.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "hetero/backend/node.hpp"
#include "hetero/registry.hpp"
#include "nodes/cuda/device_probe.hpp"
#include "nodes/cuda/kernel_runner.hpp"
#include "nodes/cuda/runtime.hpp"

namespace hetero::nodes::cuda {

class GpuNode : public Node {
 public:
  /// Makes the GPU current, then the pipeline writes back the blocks only this GPU holds.
  ~GpuNode() override;
  const NodeInfo& info() const override { return info_; }
  int lanes() const override { return lanes_; }
  MemorySpace* memory_space() override { return space_.get(); }
  /// Multiprocessors x the threads each holds at once, times the elements each thread computes
  /// in the kernel's CUDA implementation (KernelDefinition::cuda_elements_per_thread).
  std::int64_t full_wave(const backend::KernelDefinition& kernel) const override {
    return kernels_->full_wave(kernel);
  }
  /// The device's pinned host memory.
  std::shared_ptr<MemorySpace> host_staging() override { return staging_; }

  /// User kernels: their CUDA implementation on `lanes` streams of this GPU.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

 protected:
  /// Opens the device `options.device` selects for backend `name`, caps its memory and looks up
  /// its link (measured once per process); throws Error when the device cannot be opened.
  GpuNode(std::string_view name, const NodeOptions& options, int lanes);
  int device() const { return device_; }
  DeviceSpace& device_space() { return *space_; }
  /// Makes this node's GPU current: derived destructors call it before their resources go.
  void make_current() const noexcept;

 private:
  NodeInfo info_;
  int device_;
  int lanes_;
  std::unique_ptr<DeviceSpace> space_;
  std::shared_ptr<PinnedHostSpace> staging_;
  std::unique_ptr<KernelRunner> kernels_;  // after space_: it goes first
};

/// The registry entry of node type `NodeT` (a GpuNode made from NodeOptions) for backend `name`,
/// whose nodes have `lanes` lanes.
template <class NodeT>
Backend gpu_backend(std::string_view name, int lanes) {
  Backend backend;
  backend.name = std::string(name);
  backend.kind = NodeKind::device;
  backend.built = true;
  backend.describe = [name, lanes](const NodeOptions& options) {
    return describe_node(name, options, lanes);
  };
  backend.create = [](const NodeOptions& options) { return std::make_unique<NodeT>(options); };
  backend.enumerate = [name, lanes] { return enumerate_nodes(name, lanes); };
  backend.probe = [name](const NodeOptions& options) {
    return device_link(name, select_device(name, options), LinkLookup::remeasure);
  };
  return backend;
}

}  // namespace hetero::nodes::cuda

// The opencl node: one OpenCL device (any platform the ICD loader finds), driven through two
// profiling command queues so that a tile's copies overlap the other queue's kernel.
#pragma once

#include <memory>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"

namespace hetero::nodes {

class OpenCLNode final : public Node {
 public:
  /// Command queues, and so trace lanes and tiles in flight.
  static constexpr int kQueues = 2;  // = opencl::KernelRunner::kQueues

  /// Opens the device options.device selects (see opencl::select_device); throws UsageError
  /// naming the devices when it selects none, Error when the device cannot be opened.
  explicit OpenCLNode(const NodeOptions& options);
  ~OpenCLNode() override;
  const NodeInfo& info() const override { return info_; }
  int lanes() const override { return kQueues; }
  /// Kernels: the OpenCL implementation for this device's type, built once per device, through
  /// the shared device pipeline (kernel_pipeline.hpp): a tile in flight per queue (lane i
  /// records queue i), times from OpenCL event profiling mapped to the trace clock.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  /// The OpenCL implementation of `kernel` this node runs: the one for its device's type (CPU
  /// or GPU), else the one for any device; nullptr when it has none (see can_run).
  const backend::OpenCLImplementation* implementation(
      const backend::KernelDefinition& kernel) const;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;
  /// The device's memory: the report's peak device bytes come from it.
  MemorySpace* memory_space() override;

  static NodeInfo describe(const NodeOptions& options);
  /// One NodeInfo per device of every platform.
  static std::vector<NodeInfo> enumerate();
  /// Measures the selected device's link anew and refreshes the cache.
  static Link probe(const NodeOptions& options);

 private:
  struct State;
  std::unique_ptr<State> state_;
  NodeInfo info_;
};

}  // namespace hetero::nodes

// The thrust node: the same job expressed with Thrust on one CUDA GPU: axes and counts in
// thrust::device_vector, each tile a thrust::transform of the point function over a counting
// iterator, then copied back with thrust::copy.
#pragma once

#include <memory>

#include "hetero/backend/node.hpp"

namespace hetero::nodes {

class ThrustNode final : public Node {
 public:
  /// One stream, one lane: Thrust's calls return once their work is done.
  static constexpr int kLanes = 1;

  /// Opens the device `options.device` selects and measures its link (once per process).
  explicit ThrustNode(const NodeOptions& options);
  ~ThrustNode() override;
  const NodeInfo& info() const override { return info_; }
  int lanes() const override { return kLanes; }
  /// The GPU's memory as this node's vectors use it.
  MemorySpace* memory_space() override;
  /// Uploads the axes once, then per tile: transform, copy the counts straight into
  /// `counts` (pageable memory, as thrust::copy does), report it completed.
  void run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
           NodeTrace& trace) override;

  /// User kernels: their CUDA implementation on a stream of this GPU.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  static NodeInfo describe(const NodeOptions& options);

 private:
  struct Device;
  template <class Real>
  void run_in(const Job& job, WorkSource& work, std::span<std::uint32_t> counts, NodeTrace& trace);

  NodeInfo info_;
  int device_ = 0;
  std::unique_ptr<Device> resources_;
};

}  // namespace hetero::nodes

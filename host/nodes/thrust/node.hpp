// The thrust node: the same job expressed with Thrust on one CUDA GPU: axes and counts in
// thrust::device_vector, each tile a thrust::transform of the point function over a counting
// iterator, then copied back with thrust::copy.
#pragma once

#include <memory>

#include "hetero/backend/node.hpp"
#include "nodes/cuda/gpu_node.hpp"

namespace hetero::nodes {

class ThrustNode final : public cuda::GpuNode {
 public:
  /// One stream, one lane: Thrust's calls return once their work is done.
  static constexpr int kLanes = 1;

  /// Opens the device `options.device` selects and measures its link (once per process).
  explicit ThrustNode(const NodeOptions& options);
  ~ThrustNode() override;
  /// Uploads the axes once, then per tile: transform, copy the counts straight into
  /// `counts` (pageable memory, as thrust::copy does), report it completed.
  void run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
           NodeTrace& trace) override;

 private:
  struct Device;
  template <class Real>
  void run_in(const Job& job, WorkSource& work, std::span<std::uint32_t> counts, NodeTrace& trace);

  std::unique_ptr<Device> resources_;
};

}  // namespace hetero::nodes

// The openmp node: an OpenMP parallel region, one lane per OpenMP thread.
#pragma once

#include "hetero/backend/node.hpp"

namespace hetero::nodes {

class OpenMPNode final : public Node {
 public:
  explicit OpenMPNode(const NodeOptions& options);
  const NodeInfo& info() const override { return info_; }
  /// Kernels: the host implementation. Static policy: `omp for schedule(static)` over the
  /// node's tiles; self-scheduling policy: every OpenMP thread pulls from the shared queue.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  static NodeInfo describe(const NodeOptions& options);

 private:
  NodeInfo info_;
};

}  // namespace hetero::nodes

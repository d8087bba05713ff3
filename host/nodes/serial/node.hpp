// The serial node: one host thread, the reference every other backend is checked against.
#pragma once

#include "hetero/backend/node.hpp"

namespace hetero::nodes {

class SerialNode final : public Node {
 public:
  SerialNode();
  const NodeInfo& info() const override { return info_; }
  /// Kernels: the host implementation, one tile after another.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  static NodeInfo describe();

 private:
  NodeInfo info_;
};

}  // namespace hetero::nodes

// The threads node: a pool of std::threads, one lane per worker.
#pragma once

#include <memory>

#include "hetero/backend/node.hpp"

namespace hetero::detail {
class ThreadPool;
}

namespace hetero::nodes {

class ThreadsNode final : public Node {
 public:
  explicit ThreadsNode(const NodeOptions& options);
  ~ThreadsNode() override;
  const NodeInfo& info() const override { return info_; }
  /// Kernels: the host implementation. Static policy: each worker takes one contiguous block
  /// of the node's tiles; self-scheduling policy: each pulls the next from the shared queue.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  static NodeInfo describe(const NodeOptions& options);

 private:
  NodeInfo info_;
  std::unique_ptr<detail::ThreadPool> pool_;
};

}  // namespace hetero::nodes

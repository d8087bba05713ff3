// The kokkos node: kernels on the thread that owns Kokkos' default execution space.
#pragma once

#include <memory>

#include "hetero/backend/node.hpp"

namespace hetero::nodes {

/// Runs kernels' host implementations on Kokkos' thread, where the default execution space is
/// host-accessible (a device space runs none: can_run says why).
///
/// Kokkos is process-wide: it is initialised when the first kokkos node is created, on one
/// thread that then makes every Kokkos call of every kokkos node in the process, and is
/// finalised at exit. A run executes on that thread while the node's proxy thread waits, so
/// kokkos nodes of one process take their turns on it. The node records on one lane; Kokkos
/// parallelises inside each tile.
class KokkosNode final : public Node {
 public:
  explicit KokkosNode(const NodeOptions& options);
  ~KokkosNode() override;
  KokkosNode(const KokkosNode&) = delete;
  KokkosNode& operator=(const KokkosNode&) = delete;

  const NodeInfo& info() const override { return info_; }
  int lanes() const override { return 1; }
  /// Kernels: the host implementation. Static policy: the node's tiles in order;
  /// self-scheduling policy: tiles from the shared queue until it is empty. Either way it stops
  /// between tiles once a stop is requested.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  /// Kokkos' version, the execution space and its concurrency (the one Kokkos will start
  /// with, or has) in the device string, without initialising Kokkos. A host space's
  /// concurrency is also the node's (the hardware threads it occupies), adjustable through
  /// NodeOptions::workers until Kokkos starts; a device space's node has concurrency 1.
  static NodeInfo describe(const NodeOptions& options);

 private:
  NodeInfo info_;
};

}  // namespace hetero::nodes

// The kokkos node: the job as Kokkos kernels on the default execution space, data in Views.
#pragma once

#include <memory>

#include "hetero/backend/node.hpp"

namespace hetero::nodes {

/// The node's Views (axes and counts), defined where Kokkos is included.
struct KokkosViews;

/// Runs each tile as one Kokkos::parallel_reduce (a RangePolicy with a dynamic schedule over the
/// tile's pixels) on Kokkos' default execution space. The axes and the counts live in Views
/// of that space's memory space; Kokkos::deep_copy moves the axes in once per run and each
/// tile's counts out to the host, and both copies are traced with their bytes.
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
  /// Static policy: the node's tiles in order. Self-scheduling policy: tiles from the shared
  /// queue until it is empty. Either way it stops between tiles once a stop is requested.
  void run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
           NodeTrace& trace) override;
  /// User kernels: the host implementation, on the same workers as the job.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  /// Kokkos' version, the execution space and its concurrency (the one Kokkos will start
  /// with, or has) in the device string, without initialising Kokkos. A host space's
  /// concurrency is also the node's (the hardware threads it occupies), adjustable through
  /// NodeOptions::workers until Kokkos starts; a device space's node has concurrency 1.
  static NodeInfo describe(const NodeOptions& options);

 private:
  NodeInfo info_;
  std::unique_ptr<KokkosViews> views_;  // created, used and destroyed on the Kokkos thread
};

}  // namespace hetero::nodes

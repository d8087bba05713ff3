// The mpi node: on rank 0, the remote ranks of an MPI job as one node with a lane per rank.
#pragma once

#include <vector>

#include "hetero/backend/node.hpp"
#include "rank_store.hpp"
#include "runtime.hpp"

namespace hetero::nodes {

class TileTraffic;

/// Lives on rank 0 of an mpirun job. Each other rank computes the tiles it is sent (of the
/// Mandelbrot job, or of a user's kernel the rank knows by name) with its own
/// local node (`--rank-backend`, default threads, created with the same NodeOptions) and
/// returns their results. A run sends the job or kernel to every rank, keeps each rank's local
/// workers busy plus one tile queued (two while tiles take under 2 ms), and sends a rank its next
/// tile as soon as a result arrives, so a slow rank gets fewer tiles. Tiles come from the shared
/// queue (self-scheduling policies) or from the node's assigned tiles split into one contiguous
/// block per rank. A rank that dies, hangs or fails ends the whole job (Runtime::abort_all).
/// Registered arrays stay on the ranks from run to run: a tile's rank gets only the rows it
/// lacks, from a rank that holds them (rank to rank, not through rank 0) or, when none does,
/// from the host; results stay on the rank that computed them until something else reads them.

class MpiNode final : public Node {
 public:
  explicit MpiNode(const NodeOptions& options);
  /// Writes back what only the ranks hold and has them forget every kept array.
  ~MpiNode() override;
  MpiNode(const MpiNode&) = delete;
  MpiNode& operator=(const MpiNode&) = delete;
  const NodeInfo& info() const override { return info_; }
  /// The ranks' memory, one space for all of them (mpi::RankMemory).
  MemorySpace* memory_space() override { return &store_->memory(); }
  /// Asks every rank whether it knows the kernel (Runtime::serve) and its local node can run it.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  /// Each tile's order carries the slices it reads, its results the slices it writes; arrays
  /// read whole travel once per launch.
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  /// Unavailable with the reason outside rank 0 of an MPI job of 2 or more ranks; otherwise
  /// the ranks and their measured links (probed on first use).
  static NodeInfo describe(const NodeOptions& options);
  /// One entry per remote rank, with its own link; one unavailable entry outside MPI.
  static std::vector<NodeInfo> enumerate();

 private:
  void drive(TileTraffic& traffic, WorkSource& work, NodeTrace& trace);

  mpi::Runtime& runtime_;
  mpi::RankConfig config_;
  std::vector<mpi::RankLink> links_;   // per remote rank, rank 1 first
  std::vector<mpi::RankReply> ranks_;  // each rank's local node
  std::vector<int> concurrency_;       // each rank's local workers
  NodeInfo info_;
  std::shared_ptr<mpi::RankStore> store_;
};

}  // namespace hetero::nodes

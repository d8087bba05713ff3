// Registered arrays kept on the remote ranks: the space the coherence layer sees for all of
// them, which rank holds each block, and the copies rank 0 asks for (to the host, rank to rank).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "hetero/backend/coherence.hpp"
#include "hetero/backend/memory.hpp"
#include "protocol.hpp"
#include "runtime.hpp"

namespace hetero::nodes::mpi {

/// The remote ranks' memory as one space: the coherence layer keeps one state per block for all
/// of them (valid here: valid on at least one rank), and the replicas say which ranks. Nothing
/// is allocated through it; the bytes the ranks keep are counted in it.
class RankMemory final : public MemorySpace {
 public:
  std::string_view name() const override { return "mpi ranks"; }
  /// Throw Error: the ranks' memory is reached only through kept arrays' replicas.
  void* allocate(std::size_t bytes) override;
  void deallocate(void* pointer, std::size_t bytes) noexcept override;
  void copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) override;
  void copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) override;
  void hold(std::size_t bytes) { claim(bytes); }
  void drop(std::size_t bytes) { release(bytes); }
};

class RankStore;

/// A registered array as the ranks keep it: the id they know it by, and per remote rank the
/// blocks it holds valid. Invariant: a block the coherence layer holds valid in the ranks'
/// space is valid on every rank marked here and on at least one; a block it holds invalid
/// here has no meaningful marks (the next claim resets them). Thread-safe.
class RankReplica final : public backend::Replica {
 public:
  RankReplica(std::shared_ptr<RankStore> store, const backend::ArrayRecord& array);
  ~RankReplica() override;
  std::string_view space_name() const override { return "mpi ranks"; }
  /// Fetches `run` from the ranks holding it into the array's host memory.
  void copy_to_host(const backend::ArrayRecord& array, backend::BlockRun run) override;

  std::uint64_t id() const { return id_; }
  /// A rank (1-based) holding `block`; 0 when none does.
  int holder(std::int64_t block) const;
  bool holds(int rank, std::int64_t block) const;
  /// `rank` now holds `run` too (a copy reached it).
  void add(int rank, backend::BlockRun run);
  /// `rank` alone holds `run` (it wrote it, or got it from the host).
  void make_only(int rank, backend::BlockRun run);

 private:
  std::shared_ptr<RankStore> store_;
  std::uint64_t id_;
  std::size_t bytes_;
  mutable std::mutex mutex_;
  std::vector<std::vector<bool>> held_;  // [rank - 1][block]
  std::vector<bool> kept_;               // [rank - 1]: the rank keeps the array's bytes
};

/// The ranks' kept arrays as rank 0 tracks them, shared by the node and its replicas.
class RankStore : public std::enable_shared_from_this<RankStore> {
 public:
  RankStore(Runtime& runtime, int ranks) : runtime_(runtime), ranks_(ranks) {}
  RankMemory& memory() { return memory_; }
  const void* space() const { return &memory_; }
  int ranks() const { return ranks_; }

  /// The replica of `array` on the ranks: the one it has, or a new one (no rank holds a block).
  RankReplica& replica_of(backend::ArrayRecord& array);
  /// Ids of kept arrays whose records are gone, for the ranks to forget; cleared.
  std::vector<std::uint64_t> take_forgotten();
  /// Writes back what only the ranks hold of every array still alive, drops the replicas and
  /// tells every rank to forget them. Does nothing once MPI is finished.
  void release_all();

  /// Copies `rows` of the array `id` from `rank` into `host`, shaped like it (its host copy).
  /// Takes the MPI lock only around MPI calls, so it may run while the node runs.
  void fetch(int rank, const KeptRows& rows, const backend::ArgumentBinding& host, int dims);

 private:
  friend class RankReplica;
  std::uint64_t next_id();
  void forget(std::uint64_t id, std::size_t bytes, int kept_on);

  Runtime& runtime_;
  int ranks_;
  RankMemory memory_;
  std::mutex mutex_;
  std::vector<std::weak_ptr<backend::ArrayRecord>> arrays_;
  std::vector<std::uint64_t> forgotten_;
  int next_tag_ = 0;
};

/// The host copy of `array` as a binding: where its rows are, and their shape.
backend::ArgumentBinding host_shape(const backend::ArrayRecord& array);

}  // namespace hetero::nodes::mpi

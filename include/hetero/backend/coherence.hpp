// Registered arrays as the runtime tracks them: the host copy, the replicas memory spaces hold,
// and an MSI state per (block, space). For backend authors; users write hetero::Array
// (hetero/array.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hetero/trace.hpp"

namespace hetero {

/// When the results of kernels reach a wrapped array's host memory (the user's own).
enum class WriteBack : std::uint8_t {
  on_acquire,      ///< only when the host acquires the array (or the node holding them goes away)
  after_each_run,  ///< every block a run writes is copied back before the run returns
};

/// The bytes one registered array moved, each way, by cause (indexed by TransferCause).
struct ArrayTransfers {
  std::array<std::uint64_t, 5> to_device{}, to_host{};
  std::uint64_t to_device_by(TransferCause cause) const {
    return to_device[static_cast<std::size_t>(cause)];
  }
  std::uint64_t to_host_by(TransferCause cause) const {
    return to_host[static_cast<std::size_t>(cause)];
  }
  std::uint64_t total() const;
};

namespace backend {

class ArrayRecord;

/// Adjacent blocks [first, first + count) of one array.
struct BlockRun {
  std::int64_t first = 0, count = 0;
  std::int64_t end() const { return first + count; }
  bool empty() const { return count <= 0; }
  bool operator==(const BlockRun&) const = default;
};

/// A memory space's copy of a registered array, shaped like the host copy (same pitch), made
/// by the node that computes in that space and held by the array's record.
class Replica {
 public:
  virtual ~Replica() = default;
  /// The space's name, as traces say where a copy came from.
  virtual std::string_view space_name() const = 0;
  /// Copies `run` from this replica into the array's host memory; returns when it is there.
  virtual void copy_to_host(const ArrayRecord& array, BlockRun run) = 0;
};

/// The runtime's record of one registered array. A block is a band of rows (2-D: one row) or,
/// in 1-D, up to 64 KiB of elements (fewer in arrays under 4 MiB, which get 64 blocks). Each
/// space holding a replica keeps a state per block:
/// - modified: the only valid copy; every other space's is invalid;
/// - shared: valid, as is the host's;
/// - invalid: stale; it must be copied before it is read.
/// The host is a space too (key nullptr), always holding memory. Thread-safe.
class ArrayRecord : public std::enable_shared_from_this<ArrayRecord> {
 public:
  using Space = const void*;  ///< a space's identity (its MemorySpace); nullptr: the host
  static constexpr Space kHost = nullptr;

  struct Shape {
    std::size_t element_bytes = 0;
    std::int64_t width = 0, height = 1, pitch = 0;  ///< elements; 1-D: height 1
    int dims = 1;
  };

  /// `host` is the host copy (kept alive by `storage`); the host holds every block at first.
  ArrayRecord(void* host, std::shared_ptr<void> storage, Shape shape, std::string label,
              WriteBack policy);
  ~ArrayRecord();
  ArrayRecord(const ArrayRecord&) = delete;
  ArrayRecord& operator=(const ArrayRecord&) = delete;

  const std::string& label() const { return label_; }
  void* host() const { return host_; }
  const Shape& shape() const { return shape_; }
  WriteBack policy() const { return policy_; }
  std::size_t bytes() const;  ///< of the host copy and of every replica

  std::int64_t blocks() const { return blocks_; }
  /// Elements (1-D) or rows (2-D) per block.
  std::int64_t block_extent() const { return extent_; }
  /// The blocks that hold elements (1-D) or rows (2-D) [begin, end).
  BlockRun blocks_of(std::int64_t begin, std::int64_t end) const;
  BlockRun all_blocks() const { return {0, blocks_}; }
  /// The elements (1-D) or rows (2-D) of `run`, the last block clamped at the array's end.
  std::pair<std::int64_t, std::int64_t> extent_of(BlockRun run) const;
  /// Where `run` lies in the host copy (and in a replica): its first byte and its bytes from
  /// there to its last element's end (2-D: with what lies between rows).
  std::size_t offset_of(BlockRun run) const;
  std::size_t span_of(BlockRun run) const;
  /// The bytes a copy of `run` moves (2-D: rows of `width` elements).
  std::size_t payload_of(BlockRun run) const;

  /// The replica `space` holds; nullptr when it holds none.
  Replica* replica(Space space) const;
  /// Gives `space` a replica (every block invalid there) and returns it.
  Replica& attach(Space space, std::unique_ptr<Replica> replica);
  /// Writes the blocks only `space` holds back to the host (traced on `lane` when given, with
  /// `cause`: a write-back when the space goes away, an eviction when it makes room) and drops
  /// its replica.
  void detach(Space space, TraceLane* lane, TransferCause cause = TransferCause::write_back);
  /// Gives up `run` in `space` while keeping its replica (a window of an array larger than the
  /// space, moving on): the blocks only it holds go back first (evictions, traced on `lane`
  /// when given), then the run is invalid there.
  void evict(Space space, BlockRun run, TraceLane* lane);

  /// Makes `run` valid on the host: blocks modified in a space are copied back (write-back,
  /// traced on `lane` when given) and become shared there.
  void make_host_valid(BlockRun run, TraceLane* lane);
  /// For a space holding a replica: makes `run` valid on the host first, marks it shared in
  /// `space` and returns the runs that were stale there, which the caller copies from the host
  /// before anything reads them.
  std::vector<BlockRun> claim_for_read(Space space, BlockRun run, TraceLane* lane);
  /// Marks `run` modified in `space` (the host with kHost); every other copy becomes invalid.
  void mark_written(Space space, BlockRun run);

  /// The bytes of `run` valid in `space` (the host's copy with kHost; 0 for a space holding no
  /// replica): how much of a tile's data a node already has.
  std::size_t resident_bytes(Space space, BlockRun run) const;

  /// Counts a copy into the array's totals (every copy of its blocks, whoever made it).
  void count(EventKind direction, TransferCause cause, std::size_t bytes);
  ArrayTransfers transfers() const;

  /// Host access: `writing` guards are exclusive. Throws UsageError when a guard of the other
  /// kind (or a writer) is held, or a submitted run that writes the array is pending.
  void begin_host_access(bool writing);
  void end_host_access(bool writing);
  /// Launch checks: throws UsageError (naming `what`) when the host holds a guard that the
  /// launch's access conflicts with. Pending writers are counted from submit to completion.
  void check_no_host_access(bool writing, const std::string& what) const;
  void add_pending_writer(int delta);

 private:
  enum class State : std::uint8_t { invalid, shared, modified };
  struct Holder {
    Space space = nullptr;
    std::unique_ptr<Replica> replica;  // nullptr for the host
    std::vector<State> states;
  };

  Holder* holder(Space space);
  const Holder* holder(Space space) const;
  void write_back_locked(Holder& from, BlockRun run, TraceLane* lane,
                         TransferCause cause = TransferCause::write_back);

  void* host_;
  std::shared_ptr<void> storage_;
  Shape shape_;
  std::string label_;
  WriteBack policy_;
  std::int64_t extent_ = 1, blocks_ = 0;

  mutable std::mutex mutex_;
  std::vector<Holder> holders_;     // [0] is the host
  std::int64_t modified_away_ = 0;  // blocks modified in a space other than the host
  ArrayTransfers transfers_;
  int host_readers_ = 0;
  bool host_writer_ = false;
  int pending_writers_ = 0;
};

/// A fresh label for an array the user did not name: "array N".
std::string next_array_label();

}  // namespace backend
}  // namespace hetero

// The device pipeline for user kernels, written once for every device node (opencl, cuda,
// thrust): tiles in flight on the device's queues, each tile's copies before its kernel and
// after it, replicas of registered arrays kept between runs (only stale blocks copied in, written
// blocks kept until something needs them, the least recently used evicted when memory is full),
// and every copy and kernel traced on the device's clock. A device says how it copies, launches
// and waits (KernelDevice); the pipeline decides what moves when.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/memory.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"

namespace hetero::nodes {

/// A command a device enqueued (a copy or a kernel).
class DeviceCommand {
 public:
  virtual ~DeviceCommand() = default;
  /// Returns once the command is done; throws Error naming `what` when it failed.
  virtual void wait(std::string_view what) = 0;
  /// When it ran, on the trace clock, once done; never after `now_ns`.
  virtual std::pair<std::int64_t, std::int64_t> interval(std::int64_t now_ns) const = 0;
  /// A kernel whose implementation counted its work units as it ran: their number, once done.
  /// nullopt for copies, and for kernels whose work the run counts afterwards.
  virtual std::optional<std::uint64_t> work_units() const { return std::nullopt; }
};
using DeviceCommandPtr = std::shared_ptr<DeviceCommand>;

/// Bytes between a host array and its replica, which has the array's shape: `rows` rows of
/// `row_bytes`, `pitch` bytes apart, from byte `offset` on both sides (one row: a range). A
/// window's device address is where its array's first byte would lie: only its own bytes are
/// ever reached from it.
struct CopyRegion {
  std::size_t offset = 0, row_bytes = 0, rows = 1, pitch = 0;
  std::size_t bytes() const { return row_bytes * rows; }
};

/// What a device node gives the pipeline. Queue indices run from 0 to queues() - 1.
class KernelDevice {
 public:
  virtual ~KernelDevice() = default;
  virtual int queues() const = 0;
  /// The device's memory: replicas live there, and they count against its cap.
  virtual MemorySpace& space() = 0;
  /// Before a launch's first tile, on the node's thread: the implementation chosen and built
  /// (once per kernel), the device clock mapped. Throws Error when the device cannot run it.
  virtual void begin(const backend::Launch& launch, TraceLane& lane) = 0;
  /// Enqueues a copy between `host` and `device` (each the array's first byte) on `queue`.
  virtual DeviceCommandPtr copy(int queue, void* device, void* host, const CopyRegion& region,
                                bool to_device) = 0;
  /// Copies from `device` to `host` and returns when the bytes are there; any thread may call it.
  virtual void copy_to_host_now(const void* device, void* host, const CopyRegion& region) = 0;
  /// Enqueues the kernel over `tile` on `queue`, after `after` (commands of other queues); the
  /// arrays of `arguments` point to device memory.
  virtual DeviceCommandPtr launch(int queue, const backend::Launch& launch,
                                  const backend::TileRange& tile,
                                  std::span<const backend::ArgumentBinding> arguments,
                                  std::span<const DeviceCommandPtr> after) = 0;
  /// Starts what `queue` holds.
  virtual void flush(int queue) = 0;
  /// Waits for every queue.
  virtual void drain() noexcept = 0;
  /// Whether the implementation begin() chose can index an array's window (a binding's origin):
  /// only then does an array larger than the device's memory run here, in windows.
  virtual bool takes_windows() const = 0;
  /// The fewest elements a launch of `kernel` needs to fill the device (Node::full_wave):
  /// adjacent tiles smaller than that run as one launch. 0: every tile is a launch of its own.
  virtual std::int64_t full_wave(const backend::KernelDefinition& /*kernel*/) const { return 0; }
};

class KernelPipeline {
 public:
  explicit KernelPipeline(KernelDevice& device) : device_(device) {}
  /// Writes the blocks only this device holds back to their arrays' host copies.
  ~KernelPipeline();
  KernelPipeline(const KernelPipeline&) = delete;
  KernelPipeline& operator=(const KernelPipeline&) = delete;

  /// Runs every tile `work` gives the node, one launch in flight per queue (lane i is queue i):
  /// plain arrays read whole go in once, each tile's slices (and halo) in before its kernel and
  /// its written slices out after it; registered arrays as described above. A 1-D launch takes
  /// adjacent tiles together until they fill the device (KernelDevice::full_wave) and runs
  /// them as one kernel, each tile's copies and compute still traced as its own.
  void run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace);

 private:
  class Replica;
  struct Slot;
  class LaunchRun;
  struct Held {
    std::weak_ptr<backend::ArrayRecord> array;  // an array with a replica here
    std::uint64_t last_used = 0;                // the launch that last used it
  };

  const void* space_key() const { return &device_.space(); }
  /// The replica of `array` here: the one it has, or a whole one made now (see with_room);
  /// nullptr when the whole array does not fit.
  Replica* replica_of(backend::ArrayRecord& array, const backend::Launch& launch, TraceLane& lane);
  /// A replica of `array` holding a window of as many blocks as fit in `room` bytes (fewer when
  /// the device refuses that much). Throws OutOfMemory when not one block fits.
  Replica& window_of(backend::ArrayRecord& array, std::uint64_t room);
  Replica& adopt(backend::ArrayRecord& array, std::unique_ptr<Replica> replica);
  /// Calls `allocate()`; while the memory is full, evicts the replica least recently used by a
  /// launch (not one `launch` uses: the blocks only it held go back first, traced on `lane` as
  /// evictions) and tries again. Throws OutOfMemory when nothing is left to evict.
  template <class Allocate>
  auto with_room(const backend::Launch& launch, TraceLane& lane, Allocate allocate) {
    for (;;) {
      try {
        return allocate();
      } catch (const OutOfMemory&) {
        if (!evict_one(launch, lane)) throw;
      }
    }
  }
  bool evict_one(const backend::Launch& launch, TraceLane& lane);

  KernelDevice& device_;
  std::vector<Held> held_;
  std::uint64_t launches_ = 0;
};

}  // namespace hetero::nodes

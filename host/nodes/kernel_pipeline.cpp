// The device pipeline for user kernels.
#include "nodes/kernel_pipeline.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace hetero::nodes {
using backend::argument_label;
using backend::ArrayRecord;
using backend::BlockRun;

namespace {

// Where blocks `run` of `array` lie: rows apart (2-D, pitch above width) as a pitched region,
// else one range.
CopyRegion region_of(const ArrayRecord& array, BlockRun run) {
  const ArrayRecord::Shape& shape = array.shape();
  if (shape.dims == 1 || shape.pitch == shape.width) {
    return {array.offset_of(run), array.span_of(run), 1, 0};
  }
  const auto [first_row, end_row] = array.extent_of(run);
  return {array.offset_of(run), static_cast<std::size_t>(shape.width) * shape.element_bytes,
          static_cast<std::size_t>(end_row - first_row),
          static_cast<std::size_t>(shape.pitch) * shape.element_bytes};
}

// A stale run of blocks split where the tile's own blocks begin and end: the tile's own are a
// read miss, those around them (a halo) are the halo's.
std::vector<std::pair<BlockRun, TransferCause>> split_by_cause(BlockRun stale, BlockRun own,
                                                               Access access) {
  if (access == Access::read_whole || access == Access::write_slice) {
    return {{stale, TransferCause::read_miss}};
  }
  std::vector<std::pair<BlockRun, TransferCause>> parts;
  const auto add = [&](std::int64_t first, std::int64_t end, TransferCause cause) {
    first = std::max(first, stale.first);
    end = std::min(end, stale.end());
    if (end > first) parts.push_back({{first, end - first}, cause});
  };
  add(stale.first, own.first, TransferCause::halo);
  add(own.first, own.end(), TransferCause::read_miss);
  add(own.end(), stale.end(), TransferCause::halo);
  return parts;
}

std::string block_label(const ArrayRecord& array, BlockRun run) {
  return run.count == 1 ? fmt::format("{} block {}", array.label(), run.first)
                        : fmt::format("{} blocks {}-{}", array.label(), run.first, run.end() - 1);
}

}  // namespace

// A registered array's replica in the device's memory, with the copy that last filled each
// block: a kernel on another queue that reads the block waits for it. It holds the whole array,
// or for an array larger than the device a window of `capacity` adjacent blocks, which moves
// when a tile needs blocks outside it (every other block is invalid here).
class KernelPipeline::Replica final : public backend::Replica {
 public:
  Replica(KernelDevice& device, const ArrayRecord& array, std::int64_t capacity)
      : device_(device),
        buffer_(device.space(),
                std::max<std::size_t>(
                    1, capacity >= array.blocks() ? array.bytes() : array.span_of({0, capacity}))),
        capacity_(std::min(capacity, array.blocks())),
        ready_(static_cast<std::size_t>(array.blocks())) {}

  std::string_view space_name() const override { return device_.space().name(); }
  void copy_to_host(const ArrayRecord& array, BlockRun run) override {
    device_.copy_to_host_now(first_byte(array), array.host(), region_of(array, run));
  }

  bool windowed(const ArrayRecord& array) const { return capacity_ < array.blocks(); }
  BlockRun window() const { return {base_.load(), capacity_}; }
  bool holds(BlockRun run) const {
    const BlockRun held = window();
    return run.first >= held.first && run.end() <= held.end();
  }
  /// Where the array's element 0 would lie: the window's first block sits at the buffer's start.
  void* first_byte(const ArrayRecord& array) const {
    const std::size_t before = array.offset_of({base_.load(), 1});
    return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(buffer_.data()) - before);
  }
  /// The window's first element (2-D: row x pitch).
  std::int64_t origin(const ArrayRecord& array) const {
    return static_cast<std::int64_t>(array.offset_of({base_.load(), 1}) /
                                     array.shape().element_bytes);
  }
  /// Moves the window to start at block `first` (clamped so that it ends with the array); what
  /// it held is given up first (written back when only it held it).
  void move_window(ArrayRecord& array, std::int64_t first, TraceLane& lane) {
    const BlockRun held = window();
    array.evict(&device_.space(), held, &lane);
    std::fill(ready_.begin() + held.first, ready_.begin() + held.end(), nullptr);
    base_ = std::clamp<std::int64_t>(first, 0, array.blocks() - capacity_);
  }

  DeviceCommandPtr copy_from_host(int queue, const ArrayRecord& array, BlockRun run) {
    DeviceCommandPtr copy =
        device_.copy(queue, first_byte(array), array.host(), region_of(array, run), true);
    std::fill(ready_.begin() + run.first, ready_.begin() + run.end(), copy);
    return copy;
  }
  /// Adds the copies into `run`'s blocks to `after` (once each).
  void add_pending(BlockRun run, std::vector<DeviceCommandPtr>& after) const {
    for (std::int64_t b = run.first; b < run.end(); ++b) {
      const DeviceCommandPtr& copy = ready_[static_cast<std::size_t>(b)];
      if (copy && std::find(after.begin(), after.end(), copy) == after.end()) {
        after.push_back(copy);
      }
    }
  }

 private:
  KernelDevice& device_;
  Buffer<std::byte> buffer_;
  std::int64_t capacity_;
  std::atomic<std::int64_t> base_{0};  // read by write-backs on other nodes' threads
  std::vector<DeviceCommandPtr> ready_;
};

// A queue with the tile it has in flight and the commands it enqueued for it.
struct KernelPipeline::Slot {
  int queue = 0;
  TraceLane* lane = nullptr;
  /// The tiles in flight: one, or adjacent ones launched as one kernel (see next_group).
  std::vector<Tile> tiles;
  /// The tile's kernel, or one per piece when sliced arrays do not hold it whole.
  std::vector<std::pair<Tile, DeviceCommandPtr>> kernels;
  /// Plain arrays too large for the device: this queue's buffer for a piece's part of each.
  std::vector<Buffer<std::byte>> slices;
  struct Copy {
    DeviceCommandPtr command;
    EventKind direction;
    TransferCause cause;
    std::string label;
    std::size_t bytes;
    std::int64_t tile;
  };
  std::vector<Copy> copies;
  std::vector<DeviceCommandPtr> after;  // copies on other queues the kernel reads
};

KernelPipeline::~KernelPipeline() {
  for (const Held& held : held_) {
    if (const auto array = held.array.lock()) {
      try {
        array->detach(space_key(), nullptr);
      } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot report; data is lost
      }
    }
  }
}

KernelPipeline::Replica* KernelPipeline::replica_of(ArrayRecord& array,
                                                    const backend::Launch& launch,
                                                    TraceLane& lane) {
  std::erase_if(held_, [](const Held& held) { return held.array.expired(); });
  for (Held& held : held_) {
    if (held.array.lock().get() == &array) held.last_used = launches_;
  }
  if (backend::Replica* replica = array.replica(space_key())) {
    return static_cast<Replica*>(replica);
  }
  std::unique_ptr<Replica> replica;
  try {
    replica = with_room(launch, lane,
                        [&] { return std::make_unique<Replica>(device_, array, array.blocks()); });
  } catch (const OutOfMemory&) {
    return nullptr;
  }
  return &adopt(array, std::move(replica));
}

KernelPipeline::Replica& KernelPipeline::window_of(ArrayRecord& array, std::uint64_t room) {
  const std::size_t stride = array.blocks() > 1 ? array.offset_of({1, 1}) : array.bytes();
  std::int64_t capacity =
      std::min<std::int64_t>(static_cast<std::int64_t>(room / stride), array.blocks() - 1);
  for (;;) {
    if (capacity < 1) {
      throw OutOfMemory(fmt::format("{}: no room for a window of {} ({} of its {}-byte memory "
                                    "cap are in use); raise the cap (--device-memory)",
                                    device_.space().name(), array.label(),
                                    device_.space().bytes_in_use(), device_.space().limit()),
                        stride);
    }
    try {
      return adopt(array, std::make_unique<Replica>(device_, array, capacity));
    } catch (const OutOfMemory&) {
      capacity /= 2;
    }
  }
}

KernelPipeline::Replica& KernelPipeline::adopt(ArrayRecord& array,
                                               std::unique_ptr<Replica> replica) {
  held_.push_back({array.weak_from_this(), launches_});
  return static_cast<Replica&>(array.attach(space_key(), std::move(replica)));
}

bool KernelPipeline::evict_one(const backend::Launch& launch, TraceLane& lane) {
  const auto in_use = [&](const ArrayRecord* array) {
    return std::any_of(launch.arguments.begin(), launch.arguments.end(),
                       [&](const backend::ArgumentBinding& a) { return a.array.get() == array; });
  };
  auto oldest = held_.end();
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    const auto array = it->array.lock();
    if (!array || in_use(array.get())) continue;
    if (oldest == held_.end() || it->last_used < oldest->last_used) oldest = it;
  }
  if (oldest == held_.end()) return false;
  if (const auto array = oldest->array.lock()) {
    array->detach(space_key(), &lane, TransferCause::eviction);
  }
  held_.erase(oldest);
  return true;
}

// One launch on the device: its arguments in device memory, its slots, and what each tile
// enqueues before and after its kernel.
class KernelPipeline::LaunchRun {
 public:
  LaunchRun(KernelPipeline& pipeline, const backend::Launch& launch, WorkSource& work,
            NodeTrace& trace)
      : pipeline_(pipeline), device_(pipeline.device_), launch_(launch), work_(work) {
    const int queues = device_.queues();
    trace.reserve_lanes(queues);
    for (int i = 0; i < queues; ++i) slots_.push_back({i, &trace.lane(i)});
    device_.begin(launch, first_lane());
    place_arguments();
  }

  /// Tile k goes to slot k % queues, whose previous tile is finished first: one tile in flight
  /// per queue, completed in the order they were handed out. Waits for every queue however it
  /// leaves: pending copies write into host arrays.
  void run() {
    struct Drain {
      KernelDevice& device;
      ~Drain() { device.drain(); }
    } drain{device_};
    copy_whole_reads();
    std::size_t launched = 0;
    for (std::vector<Tile> group = next_group(); !group.empty(); group = next_group()) {
      Slot& slot = slots_[launched % slots_.size()];
      if (!slot.tiles.empty()) finish(slot);
      move_windows(launch_.range(merged(group)), launched);
      enqueue(slot, std::move(group));
      ++launched;
    }
    finish_all(launched);
  }

 private:
  TraceLane& first_lane() { return *slots_.front().lane; }

  // The arguments as the device sees them: arrays in its memory, with the host arrays' shapes.
  // Plain arrays get a buffer for this launch; registered ones keep theirs between launches, or
  // when they do not fit whole, share what memory is left as windows.
  void place_arguments() {
    on_device_ = launch_.arguments;
    plain_.resize(on_device_.size());
    registered_.assign(on_device_.size(), nullptr);
    std::vector<std::size_t> too_large;
    for (std::size_t i = 0; i < on_device_.size(); ++i) {
      backend::ArgumentBinding& argument = on_device_[i];
      if (argument.array) {
        registered_[i] = pipeline_.replica_of(*argument.array, launch_, first_lane());
        if (registered_[i] == nullptr) too_large.push_back(i);
      } else if (argument.is_array) {
        try {
          plain_[i] = pipeline_.with_room(launch_, first_lane(), [&] {
            return Buffer<std::byte>(device_.space(), std::max<std::size_t>(1, argument.bytes()));
          });
          argument.data = plain_[i].data();
        } catch (const OutOfMemory&) {
          if (argument.access == Access::read_whole || !device_.takes_windows()) throw;
          sliced_.push_back(i);
        }
      }
    }
    if (!sliced_.empty()) make_slices(too_large.empty() ? 1 : 2);
    for (std::size_t k = 0; k < too_large.size(); ++k) {
      const std::size_t i = too_large[k];
      require_windows(i);
      const MemorySpace& space = device_.space();
      const std::uint64_t room = space.limit() - std::min(space.limit(), space.bytes_in_use());
      registered_[i] = &pipeline_.window_of(*on_device_[i].array, room / (too_large.size() - k));
    }
    for (std::size_t i = 0; i < on_device_.size(); ++i) {
      if (registered_[i] == nullptr) continue;
      point_at_replica(i);
      windowed_ = windowed_ || registered_[i]->windowed(*on_device_[i].array);
    }
  }

  // Plain arrays read or written by slices that do not fit whole: each queue gets a buffer for
  // a piece's part of each, and tiles run in pieces of piece_extent_ elements (1-D) or rows
  // (2-D), as many as `1 / share` of the memory left holds.
  void make_slices(int share) {
    const MemorySpace& space = device_.space();
    const std::uint64_t room = space.limit() - std::min(space.limit(), space.bytes_in_use());
    const std::uint64_t per_queue =
        room / static_cast<std::uint64_t>(share) / static_cast<std::uint64_t>(slots_.size());
    std::uint64_t unit_bytes = 0, halo_bytes = 0;
    for (const std::size_t i : sliced_) {
      const std::uint64_t unit = bytes_per_unit(launch_.arguments[i]);
      unit_bytes += unit;
      halo_bytes += 2 * static_cast<std::uint64_t>(launch_.arguments[i].halo) * unit;
    }
    const std::int64_t granule = launch_.tile_granule();
    piece_extent_ =
        per_queue > halo_bytes
            ? static_cast<std::int64_t>((per_queue - halo_bytes) / unit_bytes) / granule * granule
            : 0;
    if (piece_extent_ < 1) {
      const backend::ArgumentBinding& argument = launch_.arguments[sliced_.front()];
      throw OutOfMemory(
          fmt::format("kernel '{}', {} ({} bytes) does not fit in {} (memory cap {} bytes), and "
                      "not even one {} of it per queue does: raise the cap (--device-memory)",
                      launch_.kernel->name, argument_label(sliced_.front()), argument.bytes(),
                      space.name(), space.limit(), launch_.dims() == 1 ? "element" : "row"),
          argument.bytes());
    }
    for (Slot& slot : slots_) {
      slot.slices.resize(launch_.arguments.size());
      for (const std::size_t i : sliced_) {
        const std::int64_t units = piece_extent_ + 2 * launch_.arguments[i].halo;
        slot.slices[i] = Buffer<std::byte>(
            device_.space(), static_cast<std::size_t>(bytes_per_unit(launch_.arguments[i]) *
                                                      static_cast<std::uint64_t>(units)));
      }
    }
  }

  // The bytes of one element (1-D) or one pitched row (2-D) of an array.
  std::uint64_t bytes_per_unit(const backend::ArgumentBinding& argument) const {
    return argument.element_bytes *
           static_cast<std::uint64_t>(launch_.dims() == 1 ? 1 : argument.pitch);
  }

  // The arguments of one piece on `slot`: each sliced array points into the slot's buffer, at
  // the origin of the piece's reach.
  std::vector<backend::ArgumentBinding> piece_arguments(Slot& slot,
                                                        const backend::TileRange& piece) const {
    std::vector<backend::ArgumentBinding> arguments = on_device_;
    for (const std::size_t i : sliced_) {
      backend::ArgumentBinding& argument = arguments[i];
      const backend::TileRange reach = backend::reach_of(launch_.arguments[i], piece);
      argument.origin = launch_.dims() == 1 ? reach.begin : reach.begin * argument.pitch;
      argument.data =
          slot.slices[i].data() - static_cast<std::ptrdiff_t>(argument.origin) *
                                      static_cast<std::ptrdiff_t>(argument.element_bytes);
    }
    return arguments;
  }

  // The tile as the pieces it runs in: itself when no array is sliced.
  std::vector<backend::TileRange> pieces_of(const backend::TileRange& range) const {
    if (piece_extent_ == 0) return {range};
    std::vector<backend::TileRange> pieces;
    for (std::int64_t begin = range.begin; begin < range.end; begin += piece_extent_) {
      backend::TileRange piece = range;
      piece.begin = begin;
      piece.end = std::min(range.end, begin + piece_extent_);
      pieces.push_back(piece);
    }
    return pieces;
  }

  // An array larger than the device runs in windows only when the implementation can index one.
  void require_windows(std::size_t i) const {
    if (device_.takes_windows()) return;
    const ArrayRecord& array = *on_device_[i].array;
    throw OutOfMemory(
        fmt::format("kernel '{}', {} ({}, {} bytes) does not fit in {} (memory cap {} bytes): "
                    "its OpenCL implementation can take it in windows if it declares "
                    "OpenCLOptions::array_origins; or raise the cap (--device-memory)",
                    launch_.kernel->name, argument_label(i), array.label(), array.bytes(),
                    device_.space().name(), device_.space().limit()),
        array.bytes());
  }

  void point_at_replica(std::size_t i) {
    const ArrayRecord& array = *on_device_[i].array;
    on_device_[i].data = registered_[i]->first_byte(array);
    on_device_[i].origin = registered_[i]->origin(array);
  }

  // Plain arrays every tile reads go in whole, once, before any kernel.
  void copy_whole_reads() {
    for (std::size_t i = 0; i < launch_.arguments.size(); ++i) {
      const backend::ArgumentBinding& argument = launch_.arguments[i];
      if (!argument.is_array || argument.array || argument.access != Access::read_whole ||
          argument.bytes() == 0) {
        continue;
      }
      const DeviceCommandPtr copy =
          device_.copy(0, on_device_[i].data, argument.data, {0, argument.bytes(), 1, 0}, true);
      device_.flush(0);
      copy->wait(argument_label(i));
      const auto [begin, end] = copy->interval(first_lane().now_ns());
      first_lane().copy(EventKind::copy_to_device, argument_label(i), argument.bytes(), begin, end);
    }
  }

  // Finishes every tile in flight, in the order they were handed out (`launched` launches so
  // far, launch k on slot k % slots).
  void finish_all(std::size_t launched) {
    for (std::size_t k = 0; k < slots_.size(); ++k) {
      Slot& slot = slots_[(launched + k) % slots_.size()];
      if (!slot.tiles.empty()) finish(slot);
    }
  }

  std::optional<Tile> next_tile() {
    if (pending_) return std::exchange(pending_, std::nullopt);
    if (work_.self_scheduling()) return work_.next();
    const std::span<const Tile> assigned = work_.assigned();
    if (taken_ >= assigned.size() || work_.stop_requested()) return std::nullopt;
    return assigned[taken_++];
  }

  // The tiles of the next launch: the next tile, and while they hold fewer elements than a
  // full wave of the device, the tiles that follow it without a gap (a tile that does not is
  // kept for the next launch). Only 1-D launches whose arrays fit whole (no pieces, no
  // windows: a group must never need more than a tile would) are grouped; empty
  // when no tile is left.
  std::vector<Tile> next_group() {
    std::vector<Tile> group;
    const std::optional<Tile> first = next_tile();
    if (!first) return group;
    group.push_back(*first);
    const std::int64_t wave = device_.full_wave(*launch_.kernel);
    if (wave <= 0 || launch_.dims() != 1 || piece_extent_ != 0 || windowed_) return group;
    while (group.back().end - group.front().begin < wave && !work_.stop_requested()) {
      const std::optional<Tile> next = next_tile();
      if (!next) break;
      if (next->begin != group.back().end) {
        pending_ = next;
        break;
      }
      group.push_back(*next);
    }
    return group;
  }

  static Tile merged(const std::vector<Tile>& group) {
    return {group.front().index, group.front().begin, group.back().end};
  }

  // Windows that lack blocks the tile needs move to start at its first, once every tile in
  // flight is done with them. Throws when the tile needs more than a window holds.
  void move_windows(const backend::TileRange& range, std::size_t launched) {
    for (std::size_t i = 0; i < registered_.size(); ++i) {
      Replica* replica = registered_[i];
      if (replica == nullptr || !replica->windowed(*launch_.arguments[i].array)) continue;
      ArrayRecord& array = *launch_.arguments[i].array;
      const BlockRun needed = reached_blocks(launch_.arguments[i], range);
      if (needed.empty() || replica->holds(needed)) continue;
      if (needed.count > replica->window().count) {
        throw OutOfMemory(
            fmt::format("kernel '{}', {}: a tile reaches {} bytes of {} and {} holds a window of "
                        "{} bytes of it (memory cap {} bytes): use smaller tiles (--tile)",
                        launch_.kernel->name, argument_label(i), array.span_of(needed),
                        array.label(), device_.space().name(), array.span_of(replica->window()),
                        device_.space().limit()),
            array.span_of(needed));
      }
      finish_all(launched);
      replica->move_window(array, needed.first, first_lane());
      point_at_replica(i);
    }
  }

  // Every block of `argument` a tile reads or writes, as one run.
  static BlockRun reached_blocks(const backend::ArgumentBinding& argument,
                                 const backend::TileRange& range) {
    std::int64_t first = std::numeric_limits<std::int64_t>::max(), end = 0;
    const auto add = [&](BlockRun run) {
      if (run.empty()) return;
      first = std::min(first, run.first);
      end = std::max(end, run.end());
    };
    for (const BlockRun run : backend::blocks_to_read(argument, range)) add(run);
    add(backend::blocks_written(argument, range));
    return end > 0 ? BlockRun{first, end - first} : BlockRun{};
  }

  // The tile's copies and kernel on its slot's queue; a tile in pieces enqueues each piece's
  // after the last (the queue runs them in order, so a piece's buffers are free for the next).
  // A group of tiles runs as one kernel over all of them, each tile's slices copied on their own.
  void enqueue(Slot& slot, std::vector<Tile> group) {
    const Tile tile = merged(group);
    const backend::TileRange range = launch_.range(tile);
    enqueue_registered_reads(slot, range, tile.index);
    if (group.size() > 1) {
      for (const Tile& part : group) {
        enqueue_slices(slot, launch_.range(part), on_device_, /*to_device=*/true, part.index);
      }
      slot.kernels.emplace_back(tile,
                                device_.launch(slot.queue, launch_, range, on_device_, slot.after));
      for (const Tile& part : group) {
        enqueue_slices(slot, launch_.range(part), on_device_, /*to_device=*/false, part.index);
      }
    }
    for (const backend::TileRange& piece :
         group.size() > 1 ? std::vector<backend::TileRange>{} : pieces_of(range)) {
      const std::vector<backend::ArgumentBinding> arguments =
          sliced_.empty() ? std::vector<backend::ArgumentBinding>{} : piece_arguments(slot, piece);
      const std::span<const backend::ArgumentBinding> bound =
          sliced_.empty() ? std::span<const backend::ArgumentBinding>(on_device_) : arguments;
      enqueue_slices(slot, piece, bound, /*to_device=*/true, tile.index);
      const std::int64_t width = launch_.dims() == 1 ? 1 : launch_.width;
      slot.kernels.emplace_back(Tile{tile.index, piece.begin * width, piece.end * width},
                                device_.launch(slot.queue, launch_, piece, bound, slot.after));
      enqueue_slices(slot, piece, bound, /*to_device=*/false, tile.index);
    }
    device_.flush(slot.queue);
    slot.tiles = std::move(group);
  }

  // The copies of the piece's part of every plain array it reads (to the device, the halo as
  // copies of its own) or writes (to the host), into the device arrays of `bound`.
  void enqueue_slices(Slot& slot, const backend::TileRange& range,
                      std::span<const backend::ArgumentBinding> bound, bool to_device,
                      std::int64_t tile) {
    for (std::size_t i = 0; i < launch_.arguments.size(); ++i) {
      const backend::ArgumentBinding& argument = launch_.arguments[i];
      if (argument.array) continue;
      for (const auto& [slice, cause] : backend::tile_copies(argument, range, to_device)) {
        slot.copies.push_back({device_.copy(slot.queue, bound[i].data, argument.data,
                                            {slice.offset, slice.bytes, 1, 0}, to_device),
                               to_device ? EventKind::copy_to_device : EventKind::copy_to_host,
                               cause, argument_label(i), slice.bytes, tile});
      }
    }
  }

  // Registered arrays: the blocks the tile needs that are stale here come from the host (after
  // whichever space modified them wrote them back); blocks another queue is copying in are
  // waited for by the kernel.
  void enqueue_registered_reads(Slot& slot, const backend::TileRange& range, std::int64_t tile) {
    for (std::size_t i = 0; i < launch_.arguments.size(); ++i) {
      Replica* replica = registered_[i];
      if (replica == nullptr) continue;
      const backend::ArgumentBinding& argument = launch_.arguments[i];
      ArrayRecord& array = *argument.array;
      const backend::TileRange own_range = backend::own_range(argument, range);
      const BlockRun own = array.blocks_of(own_range.begin, own_range.end);
      for (const BlockRun needed : backend::blocks_to_read(argument, range)) {
        for (const BlockRun stale :
             array.claim_for_read(pipeline_.space_key(), needed, slot.lane)) {
          for (const auto& [part, cause] : split_by_cause(stale, own, argument.access)) {
            const std::size_t bytes = array.payload_of(part);
            array.count(EventKind::copy_to_device, cause, bytes);
            slot.copies.push_back({replica->copy_from_host(slot.queue, array, part),
                                   EventKind::copy_to_device, cause, block_label(array, part),
                                   bytes, tile});
          }
        }
        replica->add_pending(needed, slot.after);
      }
    }
  }

  // After the tile's kernel: the blocks it wrote are modified here; a wrapped array asking for
  // it gets them back at once.
  void commit_registered_writes(Slot& slot, const backend::TileRange& range) {
    for (const backend::ArgumentBinding& argument : launch_.arguments) {
      const BlockRun written = backend::blocks_written(argument, range);
      if (written.empty()) continue;
      ArrayRecord& array = *argument.array;
      array.mark_written(pipeline_.space_key(), written);
      if (array.policy() == WriteBack::after_each_run) array.make_host_valid(written, slot.lane);
    }
  }

  // Waits for the slot's tiles, traces their kernel and copies, and reports them done in order.
  void finish(Slot& slot) {
    const Tile tile = merged(slot.tiles);
    for (const Slot::Copy& copy : slot.copies) copy.command->wait(copy.label);
    for (const auto& [piece, kernel] : slot.kernels) {
      kernel->wait(fmt::format("kernel '{}', tile {} (elements {} to {})", launch_.kernel->name,
                               slot.tiles.size() > 1
                                   ? fmt::format("{}-{}", tile.index, slot.tiles.back().index)
                                   : std::to_string(tile.index),
                               piece.begin, piece.end - 1));
    }
    const std::int64_t now = slot.lane->now_ns();
    if (slot.tiles.size() > 1) {
      trace_group(slot, now);
    } else {
      for (const auto& [piece, kernel] : slot.kernels) {
        const auto [compute_begin, compute_end] = kernel->interval(now);
        const std::optional<std::uint64_t> counted = kernel->work_units();
        slot.lane->compute(piece, compute_begin, compute_end,
                           counted ? *counted : launch_.work_units(piece), counted.has_value());
      }
    }
    for (const Slot::Copy& copy : slot.copies) {
      const auto [begin, end] = copy.command->interval(now);
      slot.lane->copy(copy.direction, copy.cause, copy.label, copy.bytes, begin, end, copy.tile);
    }
    commit_registered_writes(slot, launch_.range(tile));
    slot.copies.clear();
    slot.after.clear();
    slot.kernels.clear();
    const std::vector<Tile> done = std::exchange(slot.tiles, {});
    for (const Tile& part : done) work_.completed(part);
  }

  // One kernel ran the slot's tiles: each gets a compute event of its own, the kernel's interval
  // cut in order in proportion to the tiles' elements. Their work is counted from the results
  // once the run is done (a count the kernel kept is the whole group's, not a tile's).
  void trace_group(Slot& slot, std::int64_t now) {
    const auto [begin, end] = slot.kernels.front().second->interval(now);
    const Tile tile = merged(slot.tiles);
    const double per_element = static_cast<double>(end - begin) /
                               static_cast<double>(std::max<std::int64_t>(1, tile.size()));
    std::int64_t at = begin;
    for (const Tile& part : slot.tiles) {
      const std::int64_t part_end =
          part.end == tile.end
              ? end
              : begin + std::llround(per_element * static_cast<double>(part.end - tile.begin));
      slot.lane->compute(part, at, part_end, launch_.work_units(part), /*counted=*/false);
      at = part_end;
    }
  }

  KernelPipeline& pipeline_;
  KernelDevice& device_;
  const backend::Launch& launch_;
  WorkSource& work_;
  std::vector<Slot> slots_;
  std::vector<backend::ArgumentBinding> on_device_;
  std::vector<Buffer<std::byte>> plain_;
  std::vector<std::size_t> sliced_;  // plain arrays that run in pieces (see make_slices)
  std::int64_t piece_extent_ = 0;    // elements or rows per piece; 0: tiles run whole
  std::vector<Replica*> registered_;
  bool windowed_ = false;        // a registered array runs in windows here (see move_windows)
  std::size_t taken_ = 0;        // assigned tiles taken (static policies)
  std::optional<Tile> pending_;  // taken, not launched yet (see next_group)
};

void KernelPipeline::run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  ++launches_;
  LaunchRun(*this, launch, work, trace).run();
}

}  // namespace hetero::nodes

// User kernels on the opencl node.
#include "kernel_runner.hpp"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "clock.hpp"
#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"
#include "replica.hpp"

namespace hetero::nodes::opencl {
using backend::argument_label;

namespace {

// Where the work-items of a tile's launch lie: one per element (1-D) or column (2-D), or one per
// `elements_per_item` of them from offset 0 in 1-D; a global size rounded up to the local size
// when one is given (the kernel then checks the tile's range).
struct Geometry {
  cl_uint dims = 1;
  std::array<std::size_t, 2> offset{0, 0}, global{1, 1}, local{0, 1};
};

Geometry geometry_of(const OpenCLOptions& options, const backend::TileRange& range) {
  const std::int64_t per_item = std::max<std::int64_t>(1, options.elements_per_item);
  const std::size_t local = options.local_size;
  const auto round_up = [&](std::size_t n) {
    return local == 0 ? n : (n + local - 1) / local * local;
  };
  Geometry geometry;
  geometry.dims = static_cast<cl_uint>(range.dims);
  geometry.local[0] = local;
  if (range.dims == 1) {
    const auto items =
        static_cast<std::size_t>((range.end - range.begin + per_item - 1) / per_item);
    geometry.global[0] = round_up(items);
    geometry.offset[0] = per_item > 1 ? 0 : static_cast<std::size_t>(range.begin);
  } else {
    geometry.global[0] =
        round_up(static_cast<std::size_t>((range.width + per_item - 1) / per_item));
    geometry.global[1] = static_cast<std::size_t>(range.end - range.begin);
    geometry.offset[1] = static_cast<std::size_t>(range.begin);
  }
  return geometry;
}

// A stale run of blocks split where the tile's own blocks begin and end: the tile's own are a
// read miss, those around them (a halo) are the halo's.
std::vector<std::pair<backend::BlockRun, TransferCause>> split_by_cause(backend::BlockRun stale,
                                                                        backend::BlockRun own,
                                                                        Access access) {
  if (access == Access::read_whole || access == Access::write_slice) {
    return {{stale, TransferCause::read_miss}};
  }
  std::vector<std::pair<backend::BlockRun, TransferCause>> parts;
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

std::string block_label(const backend::ArrayRecord& array, backend::BlockRun run) {
  return run.count == 1 ? fmt::format("{} block {}", array.label(), run.first)
                        : fmt::format("{} blocks {}-{}", array.label(), run.first, run.end() - 1);
}

}  // namespace

// Device replicas of a launch's arrays, in the node's memory space: arrays are indexed by
// position in the space on every node, so a replica has the host array's shape. Plain host
// arrays get one for this launch; registered arrays keep theirs between launches.
class KernelRunner::Replicas {
 public:
  Replicas(const backend::Launch& launch, KernelRunner& runner, TraceLane& lane) {
    for (const backend::ArgumentBinding& argument : launch.arguments) {
      buffers_.emplace_back();
      registered_.push_back(nullptr);
      if (argument.array) {
        registered_.back() = &runner.replica_of(*argument.array, launch, lane);
      } else if (argument.is_array) {
        buffers_.back() = runner.with_room(launch, lane, [&] {
          return Buffer<std::byte>(runner.space_, std::max<std::size_t>(1, argument.bytes()));
        });
        plain_.push_back(runner.space_.resolve(buffers_.back().data(), buffers_.back().bytes()));
      }
      memories_.push_back(registered_.back() != nullptr ? registered_.back()->memory()
                          : argument.is_array           ? plain_.back().memory
                                                        : nullptr);
    }
  }
  cl_mem memory(std::size_t i) const { return memories_[i]; }
  /// The registered array's replica of argument i; nullptr for plain arrays and scalars.
  OpenCLReplica* registered(std::size_t i) const { return registered_[i]; }

 private:
  std::vector<Buffer<std::byte>> buffers_;
  std::vector<OpenCLSpace::Region> plain_;
  std::vector<OpenCLReplica*> registered_;
  std::vector<cl_mem> memories_;
};

KernelRunner::KernelRunner(const Device& device, cl_context context,
                           std::array<cl_command_queue, kQueues> queues, OpenCLSpace& space)
    : device_(device),
      context_(context),
      queues_(queues),
      space_(space),
      write_back_queue_(create_profiling_queue(context, device)) {}

// Blocks only this node holds go back to the host before its replicas (and memory) go.
KernelRunner::~KernelRunner() {
  for (const Held& held : held_) {
    if (const auto array = held.array.lock()) {
      try {
        array->detach(space_key(), nullptr);
      } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot report; data is lost
      }
    }
  }
}

OpenCLReplica& KernelRunner::replica_of(backend::ArrayRecord& array, const backend::Launch& launch,
                                        TraceLane& lane) {
  std::erase_if(held_, [](const Held& held) { return held.array.expired(); });
  for (Held& held : held_) {
    if (held.array.lock().get() == &array) held.last_used = launches_;
  }
  if (backend::Replica* replica = array.replica(space_key())) {
    return static_cast<OpenCLReplica&>(*replica);
  }
  auto replica = with_room(launch, lane, [&] {
    return std::make_unique<OpenCLReplica>(space_, write_back_queue_.get(), array);
  });
  held_.push_back({array.weak_from_this(), launches_});
  return static_cast<OpenCLReplica&>(array.attach(space_key(), std::move(replica)));
}

bool KernelRunner::evict_one(const backend::Launch& launch, TraceLane& lane) {
  const auto in_use = [&](const backend::ArrayRecord* array) {
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

// Binds the kernel's arguments in order: the tile's range first when the implementation asks for
// it, then arrays as their replicas' cl_mem and scalars by value.
void KernelRunner::bind_arguments(cl_kernel kernel, const OpenCLOptions& options,
                                  const backend::Launch& launch, const backend::TileRange& range,
                                  const Replicas& replicas) {
  cl_uint position = 0;
  if (options.tile_arguments || options.elements_per_item > 1) {
    const cl_long begin = range.begin, end = range.end;
    check(clSetKernelArg(kernel, position++, sizeof(begin), &begin), "clSetKernelArg(begin)");
    check(clSetKernelArg(kernel, position++, sizeof(end), &end), "clSetKernelArg(end)");
  }
  for (std::size_t i = 0; i < launch.arguments.size(); ++i, ++position) {
    const backend::ArgumentBinding& argument = launch.arguments[i];
    const std::string what = fmt::format("clSetKernelArg({})", argument_label(i));
    if (argument.is_array) {
      const cl_mem memory = replicas.memory(i);
      check(clSetKernelArg(kernel, position, sizeof(cl_mem), &memory), what);
    } else {
      check(clSetKernelArg(kernel, position, argument.scalar_bytes, argument.scalar.data()), what);
    }
  }
}

// A queue with the tile it has in flight and the commands it enqueued for it.
struct KernelRunner::Slot {
  cl_command_queue queue = nullptr;
  TraceLane* lane = nullptr;
  std::optional<Tile> tile;
  Event kernel;
  struct Copy {
    std::shared_ptr<Event> event;
    EventKind direction;
    TransferCause cause;
    std::string label;
    std::size_t bytes;
  };
  std::vector<Copy> copies;
  std::vector<cl_event> wait_list;  // copies on other queues the kernel reads
};

const backend::OpenCLImplementation* KernelRunner::choose(
    const backend::KernelDefinition& kernel) const {
  const OpenCLDevice type = device_.summary.cpu ? OpenCLDevice::cpu : OpenCLDevice::gpu;
  const backend::OpenCLImplementation* any = nullptr;
  for (const backend::OpenCLImplementation& implementation : kernel.opencl) {
    if (implementation.options.device == type) return &implementation;
    if (implementation.options.device == OpenCLDevice::any && any == nullptr) any = &implementation;
  }
  return any;
}

KernelRunner::Built& KernelRunner::built_for(const backend::KernelDefinition& kernel,
                                             const backend::OpenCLImplementation& implementation,
                                             TraceLane& lane) {
  const auto key = std::make_pair(kernel.id, &implementation);
  if (const auto it = built_.find(key); it != built_.end()) return it->second;
  const std::int64_t begin = lane.now_ns();
  const std::string source = backend::opencl_build_source(kernel, implementation);
  const std::string options = fmt::format("-cl-std=CL1.2 {}", implementation.options.build_options);
  Built built;
  try {
    built.program = build_program(context_, device_, source, options);
    cl_int status = CL_SUCCESS;
    built.kernel.reset(clCreateKernel(built.program.get(), implementation.entry.c_str(), &status));
    check(status, fmt::format("clCreateKernel({})", implementation.entry));
  } catch (const Error& e) {
    throw Error(fmt::format("kernel '{}' on node 'opencl': {}", kernel.name, e.what()));
  }
  lane.wait("kernel build", begin, lane.now_ns());
  return built_.emplace(key, std::move(built)).first->second;
}

void KernelRunner::run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  const backend::KernelDefinition& kernel = *launch.kernel;
  const backend::OpenCLImplementation* implementation = choose(kernel);
  if (implementation == nullptr) {
    throw Error(fmt::format("kernel '{}' has no OpenCL implementation for {}", kernel.name,
                            device_.summary.describe()));
  }
  trace.reserve_lanes(kQueues);
  std::array<Slot, kQueues> slots;
  for (int i = 0; i < kQueues; ++i) {
    slots[static_cast<std::size_t>(i)].queue = queues_[static_cast<std::size_t>(i)];
    slots[static_cast<std::size_t>(i)].lane = &trace.lane(i);
  }
  TraceLane& first_lane = *slots[0].lane;
  const std::int64_t start_ns = first_lane.now_ns();
  Built& built = built_for(kernel, *implementation, first_lane);
  ++launches_;
  const Replicas replicas(launch, *this, first_lane);
  Buffer<std::uint32_t> clock_probe(space_, 1);
  const DeviceClock clock(slots[0].queue, space_.resolve(clock_probe.data(), 4).memory, first_lane,
                          start_ns);

  // Plain arrays every tile reads go in whole, once, before any kernel.
  for (std::size_t i = 0; i < launch.arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = launch.arguments[i];
    if (!argument.is_array || argument.array || argument.access != Access::read_whole ||
        argument.bytes() == 0) {
      continue;
    }
    Event write;
    check(clEnqueueWriteBuffer(slots[0].queue, replicas.memory(i), CL_TRUE, 0, argument.bytes(),
                               argument.data, 0, nullptr, write.out()),
          fmt::format("write of {}", argument_label(i)));
    const auto [begin, end] = clock.map(write.get(), first_lane.now_ns());
    first_lane.copy(EventKind::copy_to_device, argument_label(i), argument.bytes(), begin, end);
  }

  // Waits for every queue however this function leaves: pending reads write into host arrays.
  struct Drain {
    std::array<Slot, kQueues>& slots;
    ~Drain() {
      for (Slot& slot : slots) clFinish(slot.queue);
    }
  } drain{slots};

  // Enqueues the copies of the tile's part of every array it reads (to the device, the halo as
  // copies of its own) or writes (to the host), non-blocking, on the slot's queue.
  const auto enqueue_slices = [&](Slot& slot, const backend::TileRange& range, bool to_device) {
    for (std::size_t i = 0; i < launch.arguments.size(); ++i) {
      const backend::ArgumentBinding& argument = launch.arguments[i];
      if (argument.array) continue;
      for (const auto& [slice, cause] : backend::tile_copies(argument, range, to_device)) {
        auto* host = static_cast<std::byte*>(argument.data) + slice.offset;
        Slot::Copy copy{std::make_shared<Event>(),
                        to_device ? EventKind::copy_to_device : EventKind::copy_to_host, cause,
                        argument_label(i), slice.bytes};
        const cl_int status =
            to_device ? clEnqueueWriteBuffer(slot.queue, replicas.memory(i), CL_FALSE, slice.offset,
                                             slice.bytes, host, 0, nullptr, copy.event->out())
                      : clEnqueueReadBuffer(slot.queue, replicas.memory(i), CL_FALSE, slice.offset,
                                            slice.bytes, host, 0, nullptr, copy.event->out());
        check(status, fmt::format("{} of {}", to_device ? "write" : "read", argument_label(i)));
        slot.copies.push_back(std::move(copy));
      }
    }
  };

  // Registered arrays: the blocks the tile needs that are stale here come from the host (after
  // whichever space modified them wrote them back); blocks copied in by the other queue are
  // waited for by the kernel.
  const auto enqueue_registered_reads = [&](Slot& slot, const backend::TileRange& range) {
    for (std::size_t i = 0; i < launch.arguments.size(); ++i) {
      OpenCLReplica* replica = replicas.registered(i);
      if (replica == nullptr) continue;
      const backend::ArgumentBinding& argument = launch.arguments[i];
      backend::ArrayRecord& array = *argument.array;
      const backend::TileRange own_rows = backend::own_range(argument, range);
      const backend::BlockRun own = array.blocks_of(own_rows.begin, own_rows.end);
      for (const backend::BlockRun needed : backend::blocks_to_read(argument, range)) {
        for (const backend::BlockRun stale : array.claim_for_read(space_key(), needed, slot.lane)) {
          for (const auto& [part, cause] : split_by_cause(stale, own, argument.access)) {
            const std::size_t bytes = array.payload_of(part);
            array.count(EventKind::copy_to_device, cause, bytes);
            slot.copies.push_back({replica->copy_from_host(slot.queue, array, part),
                                   EventKind::copy_to_device, cause, block_label(array, part),
                                   bytes});
          }
        }
        replica->add_pending(needed, slot.wait_list);
      }
    }
  };

  // After the tile's kernel: the blocks it wrote are modified here; a wrapped array asking for
  // it gets them back at once.
  const auto commit_registered_writes = [&](Slot& slot, const backend::TileRange& range) {
    for (std::size_t i = 0; i < launch.arguments.size(); ++i) {
      const backend::BlockRun written = backend::blocks_written(launch.arguments[i], range);
      if (written.empty()) continue;
      backend::ArrayRecord& array = *launch.arguments[i].array;
      array.mark_written(space_key(), written);
      if (array.policy() == WriteBack::after_each_run) array.make_host_valid(written, slot.lane);
    }
  };

  const auto enqueue = [&](Slot& slot, const Tile& tile) {
    const backend::TileRange range = launch.range(tile);
    enqueue_slices(slot, range, /*to_device=*/true);
    enqueue_registered_reads(slot, range);
    bind_arguments(built.kernel.get(), implementation->options, launch, range, replicas);
    const Geometry geometry = geometry_of(implementation->options, range);
    check(clEnqueueNDRangeKernel(
              slot.queue, built.kernel.get(), geometry.dims, geometry.offset.data(),
              geometry.global.data(), geometry.local[0] == 0 ? nullptr : geometry.local.data(),
              static_cast<cl_uint>(slot.wait_list.size()),
              slot.wait_list.empty() ? nullptr : slot.wait_list.data(), slot.kernel.out()),
          fmt::format("launch of kernel '{}'", kernel.name));
    enqueue_slices(slot, range, /*to_device=*/false);
    check(clFlush(slot.queue), "clFlush");
    slot.tile = tile;
  };

  const auto finish = [&](Slot& slot) {
    const Tile tile = *slot.tile;
    for (const Slot::Copy& copy : slot.copies) wait_for(copy.event->get(), copy.label);
    wait_for(slot.kernel.get(), fmt::format("kernel '{}'", kernel.name));
    const std::int64_t now = slot.lane->now_ns();
    const auto [compute_begin, compute_end] = clock.map(slot.kernel.get(), now);
    slot.lane->compute(tile, compute_begin, compute_end, launch.work_units(tile));
    for (const Slot::Copy& copy : slot.copies) {
      const auto [begin, end] = clock.map(copy.event->get(), now);
      slot.lane->copy(copy.direction, copy.cause, copy.label, copy.bytes, begin, end, tile.index);
    }
    commit_registered_writes(slot, launch.range(tile));
    slot.copies.clear();
    slot.wait_list.clear();
    slot.kernel.reset();
    slot.tile.reset();
    work.completed(tile);
  };

  // Tile k goes to slot k % kQueues, whose previous tile is finished first: kQueues tiles in
  // flight, completed in the order they were handed out.
  std::size_t issued = 0;
  const auto next_tile = [&]() -> std::optional<Tile> {
    if (work.self_scheduling()) return work.next();
    const std::span<const Tile> assigned = work.assigned();
    if (issued >= assigned.size() || work.stop_requested()) return std::nullopt;
    return assigned[issued];
  };
  while (const std::optional<Tile> tile = next_tile()) {
    Slot& slot = slots[issued % kQueues];
    if (slot.tile) finish(slot);
    enqueue(slot, *tile);
    ++issued;
  }
  for (std::size_t k = 0; k < kQueues; ++k) {
    Slot& slot = slots[(issued + k) % kQueues];
    if (slot.tile) finish(slot);
  }
}

}  // namespace hetero::nodes::opencl

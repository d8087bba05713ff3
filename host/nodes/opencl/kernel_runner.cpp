// User kernels on the opencl node.
#include "kernel_runner.hpp"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "clock.hpp"
#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"

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

}  // namespace

// Device replicas of a launch's arrays, in the node's memory space: arrays are indexed by
// position in the space on every node, so a replica has the host array's shape.
class KernelRunner::Replicas {
 public:
  Replicas(const backend::Launch& launch, OpenCLSpace& space) : space_(space) {
    for (const backend::ArgumentBinding& argument : launch.arguments) {
      buffers_.emplace_back();
      if (argument.is_array)
        buffers_.back() = Buffer<std::byte>(space, std::max<std::size_t>(1, argument.bytes()));
    }
  }
  cl_mem memory(std::size_t i) const {
    return space_.resolve(buffers_[i].data(), buffers_[i].bytes()).memory;
  }

 private:
  OpenCLSpace& space_;
  std::vector<Buffer<std::byte>> buffers_;
};

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
    Event event;
    EventKind direction;
    TransferCause cause;
    std::size_t argument;
    std::size_t bytes;
  };
  std::vector<Copy> copies;
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
  const Replicas replicas(launch, space_);
  Buffer<std::uint32_t> clock_probe(space_, 1);
  const DeviceClock clock(slots[0].queue, space_.resolve(clock_probe.data(), 4).memory, first_lane,
                          start_ns);

  // Arrays every tile reads go in whole, once, before any kernel.
  for (std::size_t i = 0; i < launch.arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = launch.arguments[i];
    if (!argument.is_array || argument.access != Access::read_whole || argument.bytes() == 0) {
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
      for (const auto& [slice, cause] : backend::tile_copies(argument, range, to_device)) {
        auto* host = static_cast<std::byte*>(argument.data) + slice.offset;
        Slot::Copy copy{{},
                        to_device ? EventKind::copy_to_device : EventKind::copy_to_host,
                        cause,
                        i,
                        slice.bytes};
        const cl_int status =
            to_device ? clEnqueueWriteBuffer(slot.queue, replicas.memory(i), CL_FALSE, slice.offset,
                                             slice.bytes, host, 0, nullptr, copy.event.out())
                      : clEnqueueReadBuffer(slot.queue, replicas.memory(i), CL_FALSE, slice.offset,
                                            slice.bytes, host, 0, nullptr, copy.event.out());
        check(status, fmt::format("{} of {}", to_device ? "write" : "read", argument_label(i)));
        slot.copies.push_back(std::move(copy));
      }
    }
  };

  const auto enqueue = [&](Slot& slot, const Tile& tile) {
    const backend::TileRange range = launch.range(tile);
    enqueue_slices(slot, range, /*to_device=*/true);
    bind_arguments(built.kernel.get(), implementation->options, launch, range, replicas);
    const Geometry geometry = geometry_of(implementation->options, range);
    check(clEnqueueNDRangeKernel(slot.queue, built.kernel.get(), geometry.dims,
                                 geometry.offset.data(), geometry.global.data(),
                                 geometry.local[0] == 0 ? nullptr : geometry.local.data(), 0,
                                 nullptr, slot.kernel.out()),
          fmt::format("launch of kernel '{}'", kernel.name));
    enqueue_slices(slot, range, /*to_device=*/false);
    check(clFlush(slot.queue), "clFlush");
    slot.tile = tile;
  };

  const auto finish = [&](Slot& slot) {
    const Tile tile = *slot.tile;
    for (const Slot::Copy& copy : slot.copies)
      wait_for(copy.event.get(), argument_label(copy.argument));
    wait_for(slot.kernel.get(), fmt::format("kernel '{}'", kernel.name));
    const std::int64_t now = slot.lane->now_ns();
    const auto [compute_begin, compute_end] = clock.map(slot.kernel.get(), now);
    slot.lane->compute(tile, compute_begin, compute_end, launch.work_units(tile));
    for (const Slot::Copy& copy : slot.copies) {
      const auto [begin, end] = clock.map(copy.event.get(), now);
      slot.lane->copy(copy.direction, copy.cause, argument_label(copy.argument), copy.bytes, begin,
                      end, tile.index);
    }
    slot.copies.clear();
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

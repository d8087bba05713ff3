// User kernels on the opencl node.
#include "kernel_runner.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

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

// An enqueued command's event, timed on the launch's device clock.
class KernelRunner::Command final : public DeviceCommand {
 public:
  explicit Command(const DeviceClock* clock) : clock_(clock) {}
  cl_event* out() { return event_.out(); }
  cl_event get() const { return event_.get(); }
  void wait(std::string_view what) override { wait_for(event_.get(), what); }
  std::pair<std::int64_t, std::int64_t> interval(std::int64_t now_ns) const override {
    return clock_->map(event_.get(), now_ns);
  }

 private:
  const DeviceClock* clock_;
  Event event_;
};

KernelRunner::KernelRunner(const Device& device, cl_context context,
                           std::array<cl_command_queue, kQueues> queues, OpenCLSpace& space)
    : device_(device),
      context_(context),
      queues_(queues),
      space_(space),
      write_back_queue_(create_profiling_queue(context, device)),
      clock_probe_(space, 1) {}

const backend::OpenCLImplementation* KernelRunner::choose(
    const backend::KernelDefinition& kernel) const {
  const OpenCLDevice type = device_.summary.cpu ? OpenCLDevice::cpu : OpenCLDevice::gpu;
  const backend::OpenCLImplementation* any = nullptr;
  for (const backend::OpenCLImplementation& implementation : kernel.opencl) {
    if (implementation.options.needs_fp64 && !device_.summary.fp64) continue;
    if (implementation.options.device == type) return &implementation;
    if (implementation.options.device == OpenCLDevice::any && any == nullptr) any = &implementation;
  }
  return any;
}

bool KernelRunner::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  if (choose(kernel) != nullptr) return true;
  const DeviceSummary& device = device_.summary;
  const bool for_fp64 =
      std::any_of(kernel.opencl.begin(), kernel.opencl.end(),
                  [](const backend::OpenCLImplementation& i) { return i.options.needs_fp64; });
  why = for_fp64 && !device.fp64
            ? fmt::format(
                  "kernel '{}' needs fp64 in OpenCL and {} has no fp64 support "
                  "(cl_khr_fp64); use --precision fp32 or another --device",
                  kernel.name, device.describe())
            : fmt::format(
                  "node 'opencl' ({}) runs OpenCL implementations and kernel '{}' has "
                  "none for it (it has {})",
                  device.describe(), kernel.name, kernel.families());
  return false;
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

void KernelRunner::begin(const backend::Launch& launch, TraceLane& lane) {
  const backend::KernelDefinition& kernel = *launch.kernel;
  std::string why;
  if (!can_run(kernel, why)) throw Error(why);
  implementation_ = choose(kernel);
  const std::int64_t start_ns = lane.now_ns();
  built_now_ = &built_for(kernel, *implementation_, lane);
  clock_.emplace(queues_[0], space_.resolve(clock_probe_.data(), 4).memory, lane, start_ns);
}

void KernelRunner::enqueue_copy(cl_command_queue queue, const void* device, void* host,
                                const CopyRegion& region, bool to_device, bool blocking,
                                cl_event* event) {
  // Resolved where the region starts: a window's `device` lies before its buffer.
  const OpenCLSpace::Region memory = space_.resolve(
      reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(device) + region.offset),
      std::max<std::size_t>(1, region.bytes()));
  const cl_bool block = blocking ? CL_TRUE : CL_FALSE;
  auto* host_bytes = static_cast<std::byte*>(host);
  const std::string what = to_device ? "write to the device" : "read from the device";
  if (region.rows <= 1) {
    check(to_device
              ? clEnqueueWriteBuffer(queue, memory.memory, block, memory.offset, region.row_bytes,
                                     host_bytes + region.offset, 0, nullptr, event)
              : clEnqueueReadBuffer(queue, memory.memory, block, memory.offset, region.row_bytes,
                                    host_bytes + region.offset, 0, nullptr, event),
          what);
    return;
  }
  // Rows that lie apart: one rectangle, both sides pitched alike from their first byte.
  const std::array<std::size_t, 3> device_origin{memory.offset % region.pitch,
                                                 memory.offset / region.pitch, 0};
  const std::array<std::size_t, 3> host_origin{region.offset % region.pitch,
                                               region.offset / region.pitch, 0};
  const std::array<std::size_t, 3> size{region.row_bytes, region.rows, 1};
  check(to_device ? clEnqueueWriteBufferRect(queue, memory.memory, block, device_origin.data(),
                                             host_origin.data(), size.data(), region.pitch, 0,
                                             region.pitch, 0, host, 0, nullptr, event)
                  : clEnqueueReadBufferRect(queue, memory.memory, block, device_origin.data(),
                                            host_origin.data(), size.data(), region.pitch, 0,
                                            region.pitch, 0, host, 0, nullptr, event),
        what);
}

DeviceCommandPtr KernelRunner::copy(int queue, void* device, void* host, const CopyRegion& region,
                                    bool to_device) {
  auto command = std::make_shared<Command>(&*clock_);
  enqueue_copy(queues_[static_cast<std::size_t>(queue)], device, host, region, to_device,
               /*blocking=*/false, command->out());
  return command;
}

void KernelRunner::copy_to_host_now(const void* device, void* host, const CopyRegion& region) {
  enqueue_copy(write_back_queue_.get(), device, host, region, /*to_device=*/false,
               /*blocking=*/true, nullptr);
}

// Binds the kernel's arguments in order (the tile's range first when the implementation asks
// for it, then arrays as their device buffers, each followed by its origin when asked for, and
// scalars by value) and enqueues it.
DeviceCommandPtr KernelRunner::launch(int queue, const backend::Launch& launch,
                                      const backend::TileRange& tile,
                                      std::span<const backend::ArgumentBinding> arguments,
                                      std::span<const DeviceCommandPtr> after) {
  cl_kernel kernel = built_now_->kernel.get();
  const OpenCLOptions& options = implementation_->options;
  cl_uint position = 0;
  if (options.tile_arguments || options.elements_per_item > 1) {
    const cl_long begin = tile.begin, end = tile.end;
    check(clSetKernelArg(kernel, position++, sizeof(begin), &begin), "clSetKernelArg(begin)");
    check(clSetKernelArg(kernel, position++, sizeof(end), &end), "clSetKernelArg(end)");
  }
  for (std::size_t i = 0; i < arguments.size(); ++i, ++position) {
    const backend::ArgumentBinding& argument = arguments[i];
    const std::string what = fmt::format("clSetKernelArg({})", argument_label(i));
    if (argument.is_array) {
      const auto window = reinterpret_cast<const void*>(
          reinterpret_cast<std::uintptr_t>(argument.data) +
          static_cast<std::uintptr_t>(argument.origin) * argument.element_bytes);
      const cl_mem memory = space_.resolve(window, 1).memory;
      check(clSetKernelArg(kernel, position, sizeof(cl_mem), &memory), what);
      if (options.array_origins) {
        const cl_long origin = argument.origin;
        check(clSetKernelArg(kernel, ++position, sizeof(origin), &origin), what);
      }
    } else {
      check(clSetKernelArg(kernel, position, argument.scalar_bytes, argument.scalar.data()), what);
    }
  }
  std::vector<cl_event> wait_list;
  for (const DeviceCommandPtr& command : after) {
    wait_list.push_back(static_cast<const Command&>(*command).get());
  }
  const Geometry geometry = geometry_of(options, tile);
  auto command = std::make_shared<Command>(&*clock_);
  check(clEnqueueNDRangeKernel(queues_[static_cast<std::size_t>(queue)], kernel, geometry.dims,
                               geometry.offset.data(), geometry.global.data(),
                               geometry.local[0] == 0 ? nullptr : geometry.local.data(),
                               static_cast<cl_uint>(wait_list.size()),
                               wait_list.empty() ? nullptr : wait_list.data(), command->out()),
        fmt::format("launch of kernel '{}'", launch.kernel->name));
  return command;
}

void KernelRunner::flush(int queue) {
  check(clFlush(queues_[static_cast<std::size_t>(queue)]), "clFlush");
}

void KernelRunner::drain() noexcept {
  for (cl_command_queue queue : queues_) clFinish(queue);
}

}  // namespace hetero::nodes::opencl

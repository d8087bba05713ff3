// The opencl node.
#include "node.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "clock.hpp"
#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "kernel_runner.hpp"
#include "link_probe.hpp"
#include "nodes/tile_pieces.hpp"
#include "opencl_kernel_source.hpp"
#include "runtime.hpp"
#include "space.hpp"

namespace hetero::nodes {
namespace {

using opencl::check;
using opencl::DeviceClock;
using opencl::Event;

// Work-items per work-group when the kernel allows it: small enough that every compute unit
// gets many groups of a tile, large enough to fill a GPU's warps or a CPU's vector lanes.
constexpr std::size_t kWorkGroupSize = 64;

NodeInfo base_info() {
  NodeInfo info;
  info.name = "opencl";
  info.kind = NodeKind::device;
  info.concurrency = OpenCLNode::kQueues;
  return info;
}

// The device and its link as far as it is known: describing never measures (the node measures
// its link when it is created, `hetero probe` on demand).
NodeInfo describe_device(const opencl::DeviceSummary& device) {
  NodeInfo info = base_info();
  info.device = device.describe();
  info.resource = device.resource;
  info.available = true;
  info.link =
      known_link(opencl::link_identity(device), Staging::pageable).value_or(unmeasured_link());
  return info;
}

std::size_t round_up(std::size_t value, std::size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace

struct OpenCLNode::State {
  // One build of the kernel for a (precision, mode).
  struct Variant {
    opencl::Program program;
    opencl::Kernel kernel;
    std::size_t local_size = 1;
  };
  // A queue with the piece of a tile it has in flight.
  struct Slot {
    cl_command_queue queue = nullptr;
    TraceLane* lane = nullptr;
    Buffer<std::uint32_t> counts;  // the piece's counts on the device
    std::optional<Piece> piece;
    Event kernel, read;
  };

  opencl::Device device;
  opencl::Context context;
  std::array<opencl::Queue, kQueues> queues;
  std::unique_ptr<opencl::OpenCLSpace> space;
  std::map<std::pair<Precision, Mode>, Variant> variants;
  std::unique_ptr<opencl::KernelRunner> kernels;  // user kernels

  /// The kernel for the job's (precision, mode), built on first use (recorded on `lane` as a
  /// wait labelled "kernel build").
  Variant& variant_for(const Job& job, TraceLane& lane);
  template <class Real>
  void run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts, NodeTrace& trace);
  /// Room in `slot` for up to `wanted` counts, fewer when the device memory is short.
  std::size_t make_room(Slot& slot, std::size_t wanted);
  void launch(Slot& slot, const Variant& variant, cl_mem axes, const Job& job, const Piece& piece,
              std::span<std::uint32_t> counts);
  void finish(Slot& slot, const DeviceClock& clock, const Job& job, std::span<std::uint32_t> counts,
              WorkSource& work);
};

OpenCLNode::State::Variant& OpenCLNode::State::variant_for(const Job& job, TraceLane& lane) {
  const auto key = std::make_pair(job.precision(), job.mode());
  if (const auto it = variants.find(key); it != variants.end()) return it->second;
  const std::int64_t begin = lane.now_ns();
  Variant variant;
  variant.program = opencl::build_program(
      context.get(), device, kernels::kMandelbrotOpenCL,
      opencl::kernel_build_options(job.precision() == Precision::fp64, job.mode() == Mode::fma));
  cl_int status = CL_SUCCESS;
  variant.kernel.reset(clCreateKernel(variant.program.get(), "mandelbrot_tile", &status));
  check(status, "clCreateKernel(mandelbrot_tile)");
  std::size_t kernel_max = 1, multiple = 1;
  check(clGetKernelWorkGroupInfo(variant.kernel.get(), device.id, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof(kernel_max), &kernel_max, nullptr),
        "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
  check(clGetKernelWorkGroupInfo(variant.kernel.get(), device.id,
                                 CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, sizeof(multiple),
                                 &multiple, nullptr),
        "clGetKernelWorkGroupInfo(CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE)");
  std::size_t local = std::max<std::size_t>(1, std::min(kWorkGroupSize, kernel_max));
  if (multiple > 1 && local >= multiple) local = local / multiple * multiple;
  variant.local_size = local;
  lane.wait("kernel build", begin, lane.now_ns());
  return variants.emplace(key, std::move(variant)).first->second;
}

std::size_t OpenCLNode::State::make_room(Slot& slot, std::size_t wanted) {
  if (slot.counts.size() >= wanted) return wanted;
  return fit_in_memory(wanted, kMinPiecePixels, [&](std::size_t pixels) {
    slot.counts = {};
    slot.counts = Buffer<std::uint32_t>(*space, pixels);
  });
}

void OpenCLNode::State::launch(Slot& slot, const Variant& variant, cl_mem axes, const Job& job,
                               const Piece& piece, std::span<std::uint32_t> counts) {
  const auto pixels = static_cast<std::size_t>(piece.size());
  // A Buffer's data() is the start of its cl_mem, so the kernel writes from offset 0.
  const cl_mem device_counts = space->resolve(slot.counts.data(), slot.counts.bytes()).memory;
  const cl_long width = job.width(), begin = piece.begin, end = piece.end;
  const cl_uint max_iter = job.max_iter();
  cl_kernel kernel = variant.kernel.get();
  check(clSetKernelArg(kernel, 0, sizeof(cl_mem), &axes), "clSetKernelArg(axes)");
  check(clSetKernelArg(kernel, 1, sizeof(width), &width), "clSetKernelArg(width)");
  check(clSetKernelArg(kernel, 2, sizeof(begin), &begin), "clSetKernelArg(begin)");
  check(clSetKernelArg(kernel, 3, sizeof(end), &end), "clSetKernelArg(end)");
  check(clSetKernelArg(kernel, 4, sizeof(max_iter), &max_iter), "clSetKernelArg(max_iter)");
  check(clSetKernelArg(kernel, 5, sizeof(cl_mem), &device_counts), "clSetKernelArg(counts)");
  const std::size_t local = variant.local_size;
  const std::size_t global = round_up(pixels, local);
  check(clEnqueueNDRangeKernel(slot.queue, kernel, 1, nullptr, &global, &local, 0, nullptr,
                               slot.kernel.out()),
        "launch of a tile's kernel");
  check(clEnqueueReadBuffer(slot.queue, device_counts, CL_FALSE, 0, pixels * sizeof(std::uint32_t),
                            counts.data() + piece.begin, 0, nullptr, slot.read.out()),
        "read of a tile's counts");
  check(clFlush(slot.queue), "clFlush");
  slot.piece = piece;
}

void OpenCLNode::State::finish(Slot& slot, const DeviceClock& clock, const Job& job,
                               std::span<std::uint32_t> counts, WorkSource& work) {
  const Piece piece = *slot.piece;
  const Tile part = piece.part();
  opencl::wait_for(slot.read.get(), "read of a tile's counts");
  opencl::wait_for(slot.kernel.get(), "a tile's kernel");
  std::uint64_t iterations = 0;
  for (std::int64_t p = part.begin; p < part.end; ++p) {
    iterations += iterations_of(counts[static_cast<std::size_t>(p)], job.max_iter());
  }
  const std::int64_t now = slot.lane->now_ns();
  const auto [compute_begin, compute_end] = clock.map(slot.kernel.get(), now);
  const auto [read_begin, read_end] = clock.map(slot.read.get(), now);
  slot.lane->compute(part, compute_begin, compute_end, iterations);
  slot.lane->copy(EventKind::copy_to_host, "counts",
                  static_cast<std::uint64_t>(part.size()) * sizeof(std::uint32_t), read_begin,
                  read_end, part.index);
  slot.piece.reset();
  slot.kernel.reset();
  slot.read.reset();
  if (piece.last()) work.completed(piece.tile);
}

template <class Real>
void OpenCLNode::State::run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                            NodeTrace& trace) {
  trace.reserve_lanes(kQueues);
  const Variant& variant = variant_for(job, trace.lane(0));
  std::array<Slot, kQueues> slots;
  for (int i = 0; i < kQueues; ++i) {
    slots[static_cast<std::size_t>(i)].queue = queues[static_cast<std::size_t>(i)].get();
    slots[static_cast<std::size_t>(i)].lane = &trace.lane(i);
  }
  TraceLane& first_lane = *slots[0].lane;
  const std::int64_t start_ns = first_lane.now_ns();

  // The axes, xs then ys, uploaded once: one traced copy.
  const AxesView<Real> view = job.axes<Real>();
  const auto width = static_cast<std::size_t>(view.width);
  const auto height = static_cast<std::size_t>(view.height);
  Buffer<Real> axes(*space, width + height);
  const cl_mem axes_memory = space->resolve(axes.data(), axes.bytes()).memory;
  Event write_xs, write_ys;
  check(clEnqueueWriteBuffer(slots[0].queue, axes_memory, CL_FALSE, 0, width * sizeof(Real),
                             view.xs, 0, nullptr, write_xs.out()),
        "write of the x axis");
  check(clEnqueueWriteBuffer(slots[0].queue, axes_memory, CL_FALSE, width * sizeof(Real),
                             height * sizeof(Real), view.ys, 0, nullptr, write_ys.out()),
        "write of the y axis");
  opencl::wait_for(write_xs.get(), "write of the x axis");
  opencl::wait_for(write_ys.get(), "write of the y axis");
  const DeviceClock clock(slots[0].queue, axes_memory, first_lane, start_ns);
  const std::int64_t now = first_lane.now_ns();
  first_lane.copy(EventKind::copy_to_device, "axes", axes.bytes(),
                  clock.map(write_xs.get(), now).first, clock.map(write_ys.get(), now).second);

  // Waits for every queue however this function leaves: pending reads write into `counts`.
  struct Drain {
    std::array<Slot, kQueues>& slots;
    ~Drain() {
      for (Slot& slot : slots) clFinish(slot.queue);
    }
  } drain{slots};

  // Piece k goes to slot k % kQueues; a slot's previous piece is finished before it is reused,
  // so kQueues pieces are in flight and pieces complete in the order they were handed out. A
  // tile is one piece unless the memory cap, split between the queues, cannot hold it; pieces
  // shrink further for the rest of the run when an allocation fails.
  PieceFeed feed(work);
  std::int64_t piece_limit = piece_budget(*space, 0, kQueues, sizeof(std::uint32_t));
  std::size_t issued = 0;
  while (const std::int64_t wanted = feed.peek(piece_limit)) {
    Slot& slot = slots[issued % kQueues];
    if (slot.piece) finish(slot, clock, job, counts, work);
    const auto room = static_cast<std::int64_t>(make_room(slot, static_cast<std::size_t>(wanted)));
    if (room < wanted) piece_limit = room;
    launch(slot, variant, axes_memory, job, feed.take(room), counts);
    ++issued;
  }
  for (std::size_t k = 0; k < kQueues; ++k) {
    Slot& slot = slots[(issued + k) % kQueues];
    if (slot.piece) finish(slot, clock, job, counts, work);
  }
}

OpenCLNode::OpenCLNode(const NodeOptions& options) : state_(std::make_unique<State>()) {
  std::string problem;
  const std::vector<opencl::Device> devices = opencl::discover_devices(&problem);
  opencl::DeviceList list;
  list.problem = problem;
  for (const opencl::Device& device : devices) list.devices.push_back(device.summary);
  state_->device = opencl::find_device(devices, opencl::select_device(list, options.device));
  state_->context = opencl::create_context(state_->device);
  for (opencl::Queue& queue : state_->queues) {
    queue = opencl::create_profiling_queue(state_->context.get(), state_->device);
  }
  const opencl::DeviceSummary& summary = state_->device.summary;
  state_->space = std::make_unique<opencl::OpenCLSpace>(
      state_->context.get(), state_->queues[0].get(),
      fmt::format("opencl device {}", summary.index()), summary.max_allocation_bytes);
  state_->space->set_limit(options.memory.of(summary.free_memory_bytes));
  state_->kernels = std::make_unique<opencl::KernelRunner>(
      state_->device, state_->context.get(),
      std::array<cl_command_queue, kQueues>{state_->queues[0].get(), state_->queues[1].get()},
      *state_->space);
  info_ = describe_device(summary);
  try {
    info_.link = opencl::device_link(summary);
  } catch (const Error& e) {
    throw Error(fmt::format("{} cannot be used: {}", summary.describe(), e.what()));
  }
}

OpenCLNode::~OpenCLNode() = default;

void OpenCLNode::run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                     NodeTrace& trace) {
  if (job.precision() == Precision::fp64) {
    if (!state_->device.summary.fp64) {
      throw Error(
          fmt::format("OpenCL device {} has no fp64 support (cl_khr_fp64); use "
                      "--precision fp32 or another --device",
                      state_->device.summary.describe()));
    }
    state_->run<double>(job, work, counts, trace);
  } else {
    state_->run<float>(job, work, counts, trace);
  }
}

bool OpenCLNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  if (state_->kernels->choose(kernel) != nullptr) return true;
  why = fmt::format(
      "node 'opencl' ({}) runs OpenCL implementations and kernel '{}' has none for "
      "it (it has {})",
      state_->device.summary.describe(), kernel.name, kernel.families());
  return false;
}

void OpenCLNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  state_->kernels->run(launch, work, trace);
}

NodeInfo OpenCLNode::describe(const NodeOptions& options) {
  NodeInfo info = base_info();
  try {
    const opencl::DeviceList list = opencl::list_devices();
    return describe_device(opencl::select_device(list, options.device));
  } catch (const Error& e) {
    info.reason = e.what();
  }
  return info;
}

std::vector<NodeInfo> OpenCLNode::enumerate() {
  std::vector<NodeInfo> infos;
  try {
    const opencl::DeviceList list = opencl::list_devices();
    for (const opencl::DeviceSummary& device : list.devices) {
      infos.push_back(describe_device(device));
    }
    if (list.devices.empty()) {
      infos.push_back(base_info());
      infos.back().reason = list.problem;
    }
  } catch (const Error& e) {
    infos.push_back(base_info());
    infos.back().reason = e.what();
  }
  return infos;
}

Link OpenCLNode::probe(const NodeOptions& options) {
  const opencl::DeviceList list = opencl::list_devices();
  return opencl::device_link(opencl::select_device(list, options.device), LinkLookup::remeasure);
}

MemorySpace* OpenCLNode::memory_space() {
  return state_->space.get();
}

void register_opencl(NodeRegistry& registry) {
  Backend backend;
  backend.name = "opencl";
  backend.kind = NodeKind::device;
  backend.built = true;
  backend.describe = &OpenCLNode::describe;
  backend.create = [](const NodeOptions& options) -> std::unique_ptr<Node> {
    return std::make_unique<OpenCLNode>(options);
  };
  backend.enumerate = &OpenCLNode::enumerate;
  backend.probe = &OpenCLNode::probe;
  registry.add(std::move(backend));
}

}  // namespace hetero::nodes

// The cuda node.
#include "nodes/cuda/node.hpp"

#include <algorithm>
#include <deque>
#include <optional>

#include "cuda/tile.hpp"
#include "hetero/buffer.hpp"
#include "hetero/registry.hpp"
#include "nodes/cuda/device_probe.hpp"
#include "nodes/cuda/runtime.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "cuda";

// One stream with the buffers of the tile in flight on it. A tile goes: counter reset and
// kernel (between `started` and `computed`), counts to pinned staging (until `copied`).
struct Slot {
  Slot(cuda::DeviceSpace& device_space, int device)
      : stream(kName, device),
        started(kName, device, /*blocking=*/false),
        computed(kName, device, /*blocking=*/false),
        copied(kName, device, /*blocking=*/true),
        chunk_counter(device_space, 1) {}

  cuda::Stream stream;
  cuda::Event started, computed, copied;
  Buffer<unsigned long long> chunk_counter;
  Buffer<std::uint32_t> device_counts;  // grown to the largest tile seen
  Buffer<std::uint32_t> staging;        // pinned, same size
  std::optional<Tile> tile;             // in flight
  std::int64_t last_end_ns = 0;         // end of the lane's last event
};

}  // namespace

struct CudaNode::Device {
  Device(int device, int multiprocessors_)
      : device_space(std::string(kName), device),
        pinned_space(std::string(kName), device),
        multiprocessors(multiprocessors_) {
    for (int i = 0; i < kStreams; ++i) slots.emplace_back(device_space, device);
  }

  cuda::DeviceSpace device_space;
  cuda::PinnedHostSpace pinned_space;
  std::deque<Slot> slots;  // kStreams of them; a deque as slots cannot move
  int multiprocessors;
};

NodeInfo CudaNode::describe(const NodeOptions& options) {
  return cuda::describe_node(kName, options, kStreams);
}

CudaNode::CudaNode(const NodeOptions& options)
    : info_(describe(options)), device_(cuda::select_device(kName, options)) {
  cuda::use_device(kName, device_);
  const cuda::DeviceProperties& properties =
      cuda::device_list().devices[static_cast<std::size_t>(device_)];
  resources_ = std::make_unique<Device>(device_, properties.multiprocessors);
  info_.link = cuda::device_link(kName, device_, /*remeasure=*/false);
}

CudaNode::~CudaNode() {
  if (resources_ != nullptr) static_cast<void>(cudaSetDevice(device_));
}

MemorySpace* CudaNode::memory_space() {
  return &resources_->device_space;
}

void CudaNode::run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                   NodeTrace& trace) {
  if (job.precision() == Precision::fp64) {
    run_in<double>(job, work, counts, trace);
  } else {
    run_in<float>(job, work, counts, trace);
  }
}

template <class Real>
void CudaNode::run_in(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                      NodeTrace& trace) {
  cuda::use_device(kName, device_);
  trace.reserve_lanes(kStreams);
  Device& gpu = *resources_;
  // A run that failed may have left work in flight: start from idle streams.
  for (Slot& slot : gpu.slots) {
    slot.stream.synchronize(kName, device_);
    slot.tile.reset();
  }

  const bool fp64 = job.precision() == Precision::fp64;
  const bool fma = job.mode() == Mode::fma;
  int blocks_per_multiprocessor = 0;
  cuda::check(
      kernels::cuda::resident_blocks_per_multiprocessor(fp64, fma, &blocks_per_multiprocessor),
      kName, device_, "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  const int max_blocks = std::max(1, blocks_per_multiprocessor * gpu.multiprocessors);

  // The axes cross the link once per job.
  TraceLane& first_lane = trace.lane(0);
  const AxesView<Real> axes = job.axes<Real>();
  Buffer<Real> xs(gpu.device_space, static_cast<std::size_t>(axes.width));
  Buffer<Real> ys(gpu.device_space, static_cast<std::size_t>(axes.height));
  copy(xs, 0, std::span<const Real>(axes.xs, xs.size()), first_lane, "axes x");
  copy(ys, 0, std::span<const Real>(axes.ys, ys.size()), first_lane, "axes y");

  const cuda::DeviceClock clock(kName, device_, gpu.slots[0].stream.get(), first_lane);
  for (Slot& slot : gpu.slots) slot.last_end_ns = clock.anchor_ns();

  const auto enqueue = [&](Slot& slot, const Tile& tile) {
    const auto pixels = static_cast<std::size_t>(tile.size());
    if (slot.device_counts.size() < pixels) {
      slot.device_counts = {};
      slot.staging = {};
      slot.device_counts = Buffer<std::uint32_t>(gpu.device_space, pixels);
      slot.staging = Buffer<std::uint32_t>(gpu.pinned_space, pixels);
    }
    const cudaStream_t stream = slot.stream.get();
    slot.started.record(stream, kName, device_);
    kernels::cuda::TileLaunch launch;
    launch.xs = xs.data();
    launch.ys = ys.data();
    launch.width = job.width();
    launch.begin = tile.begin;
    launch.pixels = tile.size();
    launch.max_iter = job.max_iter();
    launch.out = slot.device_counts.data();
    launch.chunk_counter = slot.chunk_counter.data();
    cuda::check(kernels::cuda::launch_tile(fp64, fma, launch, max_blocks, stream), kName, device_,
                "tile kernel launch");
    slot.computed.record(stream, kName, device_);
    const std::uint64_t bytes = pixels * sizeof(std::uint32_t);
    cuda::check(cudaMemcpyAsync(slot.staging.data(), slot.device_counts.data(), bytes,
                                cudaMemcpyDeviceToHost, stream),
                kName, device_, "cudaMemcpyAsync (device to host)", bytes);
    slot.copied.record(stream, kName, device_);
    slot.tile = tile;
  };

  // Waits for the slot's tile, moves its counts into place and records it on the slot's lane.
  const auto finish = [&](Slot& slot, TraceLane& lane) {
    slot.copied.synchronize(kName, device_);
    const Tile tile = *slot.tile;
    slot.tile.reset();
    // The anchor's few microseconds of error never show: events of one lane stay in order
    // without overlap, and none ends after now (the copy has completed).
    const std::int64_t now = lane.now_ns();
    const std::int64_t copied = std::clamp(clock.host_ns(slot.copied.get()), slot.last_end_ns, now);
    const std::int64_t computed =
        std::clamp(clock.host_ns(slot.computed.get()), slot.last_end_ns, copied);
    const std::int64_t started =
        std::clamp(clock.host_ns(slot.started.get()), slot.last_end_ns, computed);
    slot.last_end_ns = copied;

    const std::uint32_t max_iter = job.max_iter();
    const std::uint32_t* staged = slot.staging.data();
    std::uint32_t* out = counts.data() + tile.begin;
    std::uint64_t iterations = 0;
    for (std::int64_t p = 0; p < tile.size(); ++p) {
      out[p] = staged[p];
      iterations += iterations_of(staged[p], max_iter);
    }
    lane.compute(tile, started, computed, iterations);
    lane.copy(EventKind::copy_to_host, "counts",
              static_cast<std::uint64_t>(tile.size()) * sizeof(std::uint32_t), computed, copied,
              tile.index);
    work.completed(tile);
  };

  const std::span<const Tile> assigned = work.assigned();
  std::size_t next_assigned = 0;
  const auto next_tile = [&]() -> std::optional<Tile> {
    if (work.self_scheduling()) return work.next();
    if (work.stop_requested() || next_assigned >= assigned.size()) return std::nullopt;
    return assigned[next_assigned++];
  };

  // Tile k goes to slot k % kStreams; before a slot takes a new tile its previous one is
  // finished, so one tile computes while the one before it is copied and put in place.
  std::size_t launched = 0;
  while (const std::optional<Tile> tile = next_tile()) {
    const std::size_t index = launched % kStreams;
    Slot& slot = gpu.slots[index];
    if (slot.tile) finish(slot, trace.lane(static_cast<std::int32_t>(index)));
    enqueue(slot, *tile);
    ++launched;
  }
  for (std::size_t i = 0; i < kStreams; ++i) {
    const std::size_t index = (launched + i) % kStreams;
    Slot& slot = gpu.slots[index];
    if (slot.tile) finish(slot, trace.lane(static_cast<std::int32_t>(index)));
  }
}

void register_cuda(NodeRegistry& registry) {
  Backend backend;
  backend.name = std::string(kName);
  backend.kind = NodeKind::device;
  backend.built = true;
  backend.describe = &CudaNode::describe;
  backend.create = [](const NodeOptions& options) { return std::make_unique<CudaNode>(options); };
  backend.enumerate = [] { return cuda::enumerate_nodes(kName, CudaNode::kStreams); };
  backend.probe = [](const NodeOptions& options) {
    return cuda::device_link(kName, cuda::select_device(kName, options), /*remeasure=*/true);
  };
  registry.add(std::move(backend));
}

}  // namespace hetero::nodes

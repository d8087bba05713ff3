// The thrust node.
#include "nodes/thrust/node.hpp"

#include <algorithm>
#include <optional>

#include "hetero/registry.hpp"
#include "nodes/cuda/device_probe.hpp"
#include "nodes/cuda/kernel_runner.hpp"
#include "nodes/cuda/runtime.hpp"
#include "nodes/thrust/tiles.hpp"
#include "nodes/tile_pieces.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "thrust";

}  // namespace

struct ThrustNode::Device {
  Device(cuda::DeviceSpace& device_space_, int device)
      : device_space(device_space_),
        stream(kName, device),
        started(kName, device, /*blocking=*/false),
        computed(kName, device, /*blocking=*/true),
        tiles(device_space, device) {}

  cuda::DeviceSpace& device_space;  // the node's: every vector's bytes, through Tiles' allocator
  cuda::Stream stream;
  cuda::Event started, computed;
  thrust_device::Tiles tiles;
};

ThrustNode::ThrustNode(const NodeOptions& options) : GpuNode(kName, options, kLanes) {
  resources_ = std::make_unique<Device>(device_space(), device());
}

ThrustNode::~ThrustNode() {
  make_current();
}

void ThrustNode::run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                     NodeTrace& trace) {
  if (job.precision() == Precision::fp64) {
    run_in<double>(job, work, counts, trace);
  } else {
    run_in<float>(job, work, counts, trace);
  }
}

template <class Real>
void ThrustNode::run_in(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                        NodeTrace& trace) {
  cuda::use_device(kName, device());
  trace.reserve_lanes(kLanes);
  TraceLane& lane = trace.lane(0);
  Device& gpu = *resources_;
  gpu.stream.synchronize(kName, device());

  // The axes cross the link once per job (synchronous copies, timed on the host).
  const AxesView<Real> axes = job.axes<Real>();
  std::int64_t begin = lane.now_ns();
  gpu.tiles.upload(thrust_device::Axis::x, axes.xs, static_cast<std::size_t>(axes.width));
  std::int64_t end = lane.now_ns();
  lane.copy(EventKind::copy_to_device, "axes x",
            static_cast<std::uint64_t>(axes.width) * sizeof(Real), begin, end);
  begin = end;
  gpu.tiles.upload(thrust_device::Axis::y, axes.ys, static_cast<std::size_t>(axes.height));
  end = lane.now_ns();
  lane.copy(EventKind::copy_to_device, "axes y",
            static_cast<std::uint64_t>(axes.height) * sizeof(Real), begin, end);

  const cuda::DeviceClock clock(kName, device(), gpu.stream.get(), lane);
  std::int64_t last_end = std::max(end, clock.anchor_ns());
  const bool fp64 = job.precision() == Precision::fp64;
  const bool fma = job.mode() == Mode::fma;
  const std::uint32_t max_iter = job.max_iter();

  const auto compute = [&](const Piece& piece) {
    const Tile part = piece.part();
    const auto pixels = static_cast<std::size_t>(part.size());
    gpu.started.record(gpu.stream.get(), kName, device());
    gpu.tiles.compute(fp64, fma, job.width(), part.begin, part.end, max_iter, gpu.stream.get());
    gpu.computed.record(gpu.stream.get(), kName, device());
    gpu.computed.synchronize(kName, device());
    // In order after the lane's last event, and not after now (the transform has completed).
    const std::int64_t now = lane.now_ns();
    const std::int64_t computed = std::clamp(clock.host_ns(gpu.computed.get()), last_end, now);
    const std::int64_t started = std::clamp(clock.host_ns(gpu.started.get()), last_end, computed);

    // thrust::copy to a host pointer is a synchronous pageable copy: timed on the host.
    const std::int64_t copy_begin = std::max(lane.now_ns(), computed);
    std::uint32_t* out = counts.data() + part.begin;
    gpu.tiles.copy_counts(out, pixels);
    const std::int64_t copy_end = std::max(lane.now_ns(), copy_begin);
    last_end = copy_end;

    std::uint64_t iterations = 0;
    for (std::size_t p = 0; p < pixels; ++p) iterations += iterations_of(out[p], max_iter);
    lane.compute(part, started, computed, iterations);
    lane.copy(EventKind::copy_to_host, "counts", pixels * sizeof(std::uint32_t), copy_begin,
              copy_end, part.index);
    if (piece.last()) work.completed(piece.tile);
  };

  // A tile is one transform unless the memory cap cannot hold its counts; pieces shrink further
  // for the rest of the run when an allocation fails.
  PieceFeed feed(work);
  std::int64_t piece_limit =
      piece_budget(gpu.device_space, gpu.tiles.capacity_bytes(), 1, sizeof(std::uint32_t));
  while (const std::int64_t wanted = feed.peek(piece_limit)) {
    const auto room = static_cast<std::int64_t>(
        fit_in_memory(static_cast<std::size_t>(wanted), kMinPiecePixels,
                      [&](std::size_t pixels) { gpu.tiles.reserve(pixels); }));
    if (room < wanted) piece_limit = room;
    compute(feed.take(room));
  }
}

void register_thrust(NodeRegistry& registry) {
  registry.add(cuda::gpu_backend<ThrustNode>(kName, ThrustNode::kLanes));
}

}  // namespace hetero::nodes

// The cuda node.
#include "nodes/cuda/node.hpp"

#include <algorithm>
#include <deque>
#include <optional>

#include "cuda/tile.hpp"
#include "hetero/backend/memory.hpp"
#include "hetero/registry.hpp"
#include "nodes/cuda/device_probe.hpp"
#include "nodes/cuda/kernel_runner.hpp"
#include "nodes/cuda/runtime.hpp"
#include "nodes/host_kernel.hpp"
#include "nodes/tile_pieces.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "cuda";

// One stream with the buffers of the piece of a tile in flight on it. A piece goes: counter
// reset and kernel (between `started` and `computed`), counts to pinned staging (until `copied`).
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
  Buffer<std::uint32_t> device_counts;  // grown to the largest piece seen
  Buffer<std::uint32_t> staging;        // pinned, same size
  std::optional<Piece> piece;           // in flight
  std::int64_t last_end_ns = 0;         // end of the lane's last event
};

}  // namespace

struct CudaNode::Device {
  Device(cuda::DeviceSpace& device_space_, int device, int multiprocessors_)
      : device_space(device_space_),
        pinned_space(std::string(kName), device),
        multiprocessors(multiprocessors_) {
    for (int i = 0; i < kStreams; ++i) slots.emplace_back(device_space, device);
  }

  cuda::DeviceSpace& device_space;  // the node's
  cuda::PinnedHostSpace pinned_space;
  std::deque<Slot> slots;  // kStreams of them; a deque as slots cannot move
  int multiprocessors;
};

CudaNode::CudaNode(const NodeOptions& options) : GpuNode(kName, options, kStreams) {
  const cuda::DeviceProperties& properties =
      cuda::device_list().devices[static_cast<std::size_t>(device())];
  resources_ = std::make_unique<Device>(device_space(), device(), properties.multiprocessors);
}

CudaNode::~CudaNode() {
  make_current();
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
  cuda::use_device(kName, device());
  trace.reserve_lanes(kStreams);
  Device& gpu = *resources_;
  // A run that failed may have left work in flight: start from idle streams.
  for (Slot& slot : gpu.slots) {
    slot.stream.synchronize(kName, device());
    slot.piece.reset();
  }

  const bool fp64 = job.precision() == Precision::fp64;
  const bool fma = job.mode() == Mode::fma;
  int blocks_per_multiprocessor = 0;
  cuda::check(
      kernels::cuda::resident_blocks_per_multiprocessor(fp64, fma, &blocks_per_multiprocessor),
      kName, device(), "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  const int max_blocks = std::max(1, blocks_per_multiprocessor * gpu.multiprocessors);

  // The axes cross the link once per job.
  TraceLane& first_lane = trace.lane(0);
  const AxesView<Real> axes = job.axes<Real>();
  Buffer<Real> xs(gpu.device_space, static_cast<std::size_t>(axes.width));
  Buffer<Real> ys(gpu.device_space, static_cast<std::size_t>(axes.height));
  copy(xs, 0, std::span<const Real>(axes.xs, xs.size()), first_lane, "axes x");
  copy(ys, 0, std::span<const Real>(axes.ys, ys.size()), first_lane, "axes y");

  const cuda::DeviceClock clock(kName, device(), gpu.slots[0].stream.get(), first_lane);
  for (Slot& slot : gpu.slots) slot.last_end_ns = clock.anchor_ns();

  // Room in the slot for up to `wanted` counts, on the device and in staging; fewer when memory
  // is short.
  const auto make_room = [&](Slot& slot, std::size_t wanted) -> std::size_t {
    // Both sizes: an allocation that failed half way leaves the other buffer behind.
    if (slot.device_counts.size() >= wanted && slot.staging.size() >= wanted) return wanted;
    return fit_in_memory(wanted, kMinPiecePixels, [&](std::size_t pixels) {
      slot.device_counts = {};
      slot.staging = {};
      slot.device_counts = Buffer<std::uint32_t>(gpu.device_space, pixels);
      slot.staging = Buffer<std::uint32_t>(gpu.pinned_space, pixels);
    });
  };

  const auto enqueue = [&](Slot& slot, const Piece& piece) {
    const auto pixels = static_cast<std::size_t>(piece.size());
    const cudaStream_t stream = slot.stream.get();
    slot.started.record(stream, kName, device());
    kernels::cuda::TileLaunch launch;
    launch.xs = xs.data();
    launch.ys = ys.data();
    launch.width = job.width();
    launch.begin = piece.begin;
    launch.pixels = piece.size();
    launch.max_iter = job.max_iter();
    launch.out = slot.device_counts.data();
    launch.chunk_counter = slot.chunk_counter.data();
    cuda::check(kernels::cuda::launch_tile(fp64, fma, launch, max_blocks, stream), kName, device(),
                "tile kernel launch");
    slot.computed.record(stream, kName, device());
    const std::uint64_t bytes = pixels * sizeof(std::uint32_t);
    cuda::check(cudaMemcpyAsync(slot.staging.data(), slot.device_counts.data(), bytes,
                                cudaMemcpyDeviceToHost, stream),
                kName, device(), "cudaMemcpyAsync (device to host)", bytes);
    slot.copied.record(stream, kName, device());
    slot.piece = piece;
  };

  // Waits for the slot's piece, moves its counts into place and records it on the slot's lane;
  // a tile is completed with its last piece.
  const auto finish = [&](Slot& slot, TraceLane& lane) {
    slot.copied.synchronize(kName, device());
    const Piece piece = *slot.piece;
    const Tile part = piece.part();
    slot.piece.reset();
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
    std::uint32_t* out = counts.data() + part.begin;
    std::uint64_t iterations = 0;
    for (std::int64_t p = 0; p < part.size(); ++p) {
      out[p] = staged[p];
      iterations += iterations_of(staged[p], max_iter);
    }
    lane.compute(part, started, computed, iterations);
    lane.copy(EventKind::copy_to_host, "counts",
              static_cast<std::uint64_t>(part.size()) * sizeof(std::uint32_t), computed, copied,
              part.index);
    if (piece.last()) work.completed(piece.tile);
  };

  // Piece k goes to slot k % kStreams; before a slot takes a new piece its previous one is
  // finished, so one piece computes while the one before it is copied and put in place. A tile
  // is one piece unless the memory cap, split between the streams, cannot hold it; pieces shrink
  // further for the rest of the run when an allocation fails.
  PieceFeed feed(work);
  std::uint64_t held = 0;
  for (const Slot& slot : gpu.slots) held += slot.device_counts.bytes();
  std::int64_t piece_limit = piece_budget(gpu.device_space, held, kStreams, sizeof(std::uint32_t));
  std::size_t launched = 0;
  while (const std::int64_t wanted = feed.peek(piece_limit)) {
    const std::size_t index = launched % kStreams;
    Slot& slot = gpu.slots[index];
    if (slot.piece) finish(slot, trace.lane(static_cast<std::int32_t>(index)));
    const auto room = static_cast<std::int64_t>(make_room(slot, static_cast<std::size_t>(wanted)));
    if (room < wanted) piece_limit = room;
    enqueue(slot, feed.take(room));
    ++launched;
  }
  for (std::size_t i = 0; i < kStreams; ++i) {
    const std::size_t index = (launched + i) % kStreams;
    Slot& slot = gpu.slots[index];
    if (slot.piece) finish(slot, trace.lane(static_cast<std::int32_t>(index)));
  }
}

namespace {

// hetero::mandelbrot_kernel's CUDA implementation (see CudaCountsLauncher).
void launch_mandelbrot_counts(void* stream, Precision precision, Mode mode, const void* xs,
                              const void* ys, std::int64_t width, std::int64_t begin,
                              std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  int device = 0;
  cudaGetDevice(&device);
  cuda::check(
      kernels::cuda::launch_counts(precision == Precision::fp64, mode == Mode::fma, xs, ys, width,
                                   begin, end, max_iter, out, static_cast<cudaStream_t>(stream)),
      kName, device, "launch of the Mandelbrot counts kernel");
}

}  // namespace

void register_cuda(NodeRegistry& registry) {
  register_cuda_counts(&launch_mandelbrot_counts);
  registry.add(cuda::gpu_backend<CudaNode>(kName, CudaNode::kStreams));
}

}  // namespace hetero::nodes

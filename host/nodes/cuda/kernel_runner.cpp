// User kernels on a CUDA GPU.
#include "nodes/cuda/kernel_runner.hpp"

#include <algorithm>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "hetero/error.hpp"

namespace hetero::nodes::cuda {
namespace {

// One copy of `region` between `device` and `host`, each its array's first byte: a range, or
// rows `pitch` apart as one two-dimensional copy.
cudaError_t copy_region(void* destination, const void* source, const CopyRegion& region,
                        cudaMemcpyKind kind, cudaStream_t stream, bool asynchronous) {
  auto* to = static_cast<std::byte*>(destination) + region.offset;
  const auto* from = static_cast<const std::byte*>(source) + region.offset;
  if (region.rows <= 1) {
    return asynchronous ? cudaMemcpyAsync(to, from, region.row_bytes, kind, stream)
                        : cudaMemcpy(to, from, region.row_bytes, kind);
  }
  return asynchronous ? cudaMemcpy2DAsync(to, region.pitch, from, region.pitch, region.row_bytes,
                                          region.rows, kind, stream)
                      : cudaMemcpy2D(to, region.pitch, from, region.pitch, region.row_bytes,
                                     region.rows, kind);
}

}  // namespace

// Work counters of counting launches: a std::uint64_t in device memory with its copy in pinned
// host memory, taken by a launch and given back when its command goes. Made in chunks, as
// launches in flight need them.
class KernelRunner::Counters {
 public:
  Counters(DeviceSpace& device, PinnedHostSpace& host) : device_(device), host_(host) {}

  std::size_t take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) {
      const std::size_t first = chunks_.size() * kChunk;
      chunks_.push_back(
          {Buffer<std::uint64_t>(device_, kChunk), Buffer<std::uint64_t>(host_, kChunk)});
      for (std::size_t i = kChunk; i-- > 0;) free_.push_back(first + i);
    }
    const std::size_t index = free_.back();
    free_.pop_back();
    return index;
  }
  void give_back(std::size_t index) noexcept {
    std::lock_guard lock(mutex_);
    free_.push_back(index);
  }
  std::uint64_t* on_device(std::size_t index) {
    std::lock_guard lock(mutex_);
    return chunks_[index / kChunk].device.data() + index % kChunk;
  }
  std::uint64_t* on_host(std::size_t index) {
    std::lock_guard lock(mutex_);
    return chunks_[index / kChunk].host.data() + index % kChunk;
  }

 private:
  static constexpr std::size_t kChunk = 256;
  struct Chunk {
    Buffer<std::uint64_t> device, host;
  };
  DeviceSpace& device_;
  PinnedHostSpace& host_;
  std::mutex mutex_;
  std::vector<Chunk> chunks_;
  std::vector<std::size_t> free_;
};

// An enqueued command between two events on its stream, timed on the launch's device clock. A
// counting launch also copies its work counter back after the kernel (outside its interval).
class KernelRunner::Command final : public DeviceCommand {
 public:
  Command(std::string_view node, int device, const DeviceClock* clock)
      : node_(node),
        device_(device),
        clock_(clock),
        started_(node, device, /*blocking=*/false),
        ended_(node, device, /*blocking=*/true) {}
  ~Command() override {
    if (counters_ != nullptr) counters_->give_back(counter_);
  }
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  void start(cudaStream_t stream) { started_.record(stream, node_, device_); }
  void end(cudaStream_t stream) { ended_.record(stream, node_, device_); }
  cudaEvent_t ended() const { return ended_.get(); }

  /// Takes a counter and zeroes it on `stream`: call before start().
  std::uint64_t* count_work(Counters& counters, cudaStream_t stream) {
    counters_ = &counters;
    counter_ = counters.take();
    std::uint64_t* on_device = counters.on_device(counter_);
    check(cudaMemsetAsync(on_device, 0, sizeof(std::uint64_t), stream), node_, device_,
          "cudaMemsetAsync of a work counter");
    return on_device;
  }
  /// Copies the counter back after the kernel: call after end().
  void read_work(cudaStream_t stream) {
    check(cudaMemcpyAsync(counters_->on_host(counter_), counters_->on_device(counter_),
                          sizeof(std::uint64_t), cudaMemcpyDeviceToHost, stream),
          node_, device_, "cudaMemcpyAsync of a work counter");
    counted_.emplace(node_, device_, /*blocking=*/true);
    counted_->record(stream, node_, device_);
  }

  void wait(std::string_view what) override {
    try {
      (counted_ ? *counted_ : ended_).synchronize(node_, device_);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", what, e.what()));
    }
  }
  std::pair<std::int64_t, std::int64_t> interval(std::int64_t now_ns) const override {
    const std::int64_t end = std::min(clock_->host_ns(ended_.get()), now_ns);
    return {std::min(clock_->host_ns(started_.get()), end), end};
  }
  std::optional<std::uint64_t> work_units() const override {
    if (!counted_) return std::nullopt;
    return *counters_->on_host(counter_);
  }

 private:
  std::string node_;
  int device_;
  const DeviceClock* clock_;
  Event started_, ended_;
  std::optional<Event> counted_;
  Counters* counters_ = nullptr;
  std::size_t counter_ = 0;
};

KernelRunner::KernelRunner(std::string_view node, int device, DeviceSpace& space, int streams,
                           bool thrust, std::int64_t resident_threads)
    : node_(node),
      device_(device),
      space_(space),
      streams_count_(std::max(1, streams)),
      thrust_(thrust),
      resident_threads_(resident_threads),
      pinned_(std::string(node), device),
      counter_space_(std::string(node), device),
      counters_(std::make_unique<Counters>(counter_space_, pinned_)) {
  // Made with the node, on its device (current now): no run pays for them.
  while (static_cast<int>(streams_.size()) < streams_count_) {
    streams_.push_back(std::make_unique<Stream>(node_, device_));
  }
}

const backend::CudaImplementation& KernelRunner::implementation(
    const backend::KernelDefinition& kernel) const {
  return thrust_ && kernel.thrust ? kernel.thrust : kernel.cuda;
}

std::int64_t KernelRunner::full_wave(const backend::KernelDefinition& kernel) const {
  const bool runs_cuda = &implementation(kernel) == &kernel.cuda;
  return resident_threads_ * (runs_cuda ? kernel.cuda_elements_per_thread : 1);
}

bool KernelRunner::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  if (implementation(kernel)) return true;
  why = fmt::format("node '{}' runs {} implementations and kernel '{}' has none (it has {})", node_,
                    thrust_ ? "Thrust or CUDA" : "CUDA", kernel.name, kernel.families());
  return false;
}

void KernelRunner::run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  use_device(node_, device_);
  pipeline_.run(launch, work, trace);
}

void KernelRunner::begin(const backend::Launch& launch, TraceLane& lane) {
  std::string why;
  if (!can_run(*launch.kernel, why)) throw Error(why);
  // An error an earlier call left behind (and nobody read) would otherwise surface as this
  // run's first launch failing; a sticky one stays and fails the run at once.
  static_cast<void>(cudaGetLastError());
  clock_.emplace(node_, device_, streams_[0]->get(), lane);
}

DeviceCommandPtr KernelRunner::copy(int queue, void* device, void* host, const CopyRegion& region,
                                    bool to_device) {
  const cudaStream_t stream = streams_[static_cast<std::size_t>(queue)]->get();
  auto command = std::make_shared<Command>(node_, device_, &*clock_);
  command->start(stream);
  check(to_device ? copy_region(device, host, region, cudaMemcpyHostToDevice, stream, true)
                  : copy_region(host, device, region, cudaMemcpyDeviceToHost, stream, true),
        node_, device_, to_device ? "cudaMemcpyAsync to the device" : "cudaMemcpyAsync to the host",
        region.bytes());
  command->end(stream);
  return command;
}

void KernelRunner::copy_to_host_now(const void* device, void* host, const CopyRegion& region) {
  const DeviceGuard on_this_device(node_, device_);  // any thread may ask
  check(copy_region(host, device, region, cudaMemcpyDeviceToHost, nullptr, false), node_, device_,
        "cudaMemcpy to the host", region.bytes());
}

DeviceCommandPtr KernelRunner::launch(int queue, const backend::Launch& launch,
                                      const backend::TileRange& tile,
                                      std::span<const backend::ArgumentBinding> arguments,
                                      std::span<const DeviceCommandPtr> after) {
  const cudaStream_t stream = streams_[static_cast<std::size_t>(queue)]->get();
  for (const DeviceCommandPtr& command : after) {
    check(cudaStreamWaitEvent(stream, static_cast<const Command&>(*command).ended(), 0), node_,
          device_, "cudaStreamWaitEvent");
  }
  auto command = std::make_shared<Command>(node_, device_, &*clock_);
  const bool counting =
      &implementation(*launch.kernel) == &launch.kernel->cuda && launch.kernel->cuda_counts_work;
  std::uint64_t* work = counting ? command->count_work(*counters_, stream) : nullptr;
  command->start(stream);
  implementation (*launch.kernel)(stream, work, tile, arguments);
  check(cudaGetLastError(), node_, device_,
        fmt::format("launch of kernel '{}' over elements {} to {}", launch.kernel->name, tile.begin,
                    tile.end - 1));
  command->end(stream);
  if (counting) command->read_work(stream);
  return command;
}

KernelRunner::~KernelRunner() = default;

void KernelRunner::drain() noexcept {
  for (const auto& stream : streams_) static_cast<void>(cudaStreamSynchronize(stream->get()));
}

}  // namespace hetero::nodes::cuda

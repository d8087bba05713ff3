// User kernels on a CUDA GPU.
#include "nodes/cuda/kernel_runner.hpp"

#include <algorithm>

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

// An enqueued command between two events on its stream, timed on the launch's device clock.
class KernelRunner::Command final : public DeviceCommand {
 public:
  Command(std::string_view node, int device, const DeviceClock* clock)
      : node_(node),
        device_(device),
        clock_(clock),
        started_(node, device, /*blocking=*/false),
        ended_(node, device, /*blocking=*/true) {}
  void start(cudaStream_t stream) { started_.record(stream, node_, device_); }
  void end(cudaStream_t stream) { ended_.record(stream, node_, device_); }
  cudaEvent_t ended() const { return ended_.get(); }

  void wait(std::string_view what) override {
    try {
      ended_.synchronize(node_, device_);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", what, e.what()));
    }
  }
  std::pair<std::int64_t, std::int64_t> interval(std::int64_t now_ns) const override {
    const std::int64_t end = std::min(clock_->host_ns(ended_.get()), now_ns);
    return {std::min(clock_->host_ns(started_.get()), end), end};
  }

 private:
  std::string node_;
  int device_;
  const DeviceClock* clock_;
  Event started_, ended_;
};

KernelRunner::KernelRunner(std::string_view node, int device, DeviceSpace& space, int streams,
                           bool thrust)
    : node_(node),
      device_(device),
      space_(space),
      streams_count_(std::max(1, streams)),
      thrust_(thrust) {}

const backend::CudaImplementation& KernelRunner::implementation(
    const backend::KernelDefinition& kernel) const {
  return thrust_ && kernel.thrust ? kernel.thrust : kernel.cuda;
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
  while (static_cast<int>(streams_.size()) < streams_count_) {
    streams_.push_back(std::make_unique<Stream>(node_, device_));
  }
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
  use_device(node_, device_);  // any thread may ask
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
  command->start(stream);
  implementation (*launch.kernel)(stream, tile, arguments);
  check(cudaGetLastError(), node_, device_,
        fmt::format("launch of kernel '{}'", launch.kernel->name));
  command->end(stream);
  return command;
}

void KernelRunner::drain() noexcept {
  for (const auto& stream : streams_) static_cast<void>(cudaStreamSynchronize(stream->get()));
}

}  // namespace hetero::nodes::cuda

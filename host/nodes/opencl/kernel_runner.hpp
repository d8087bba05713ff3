// User kernels on the opencl node: the OpenCL implementation chosen for the device, built once
// per device, arguments bound in order; the device side of the shared kernel pipeline (copies
// and launches on its queues, every command timed on the device's own clock).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "clock.hpp"
#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "nodes/kernel_pipeline.hpp"
#include "runtime.hpp"
#include "space.hpp"

namespace hetero::nodes::opencl {

class KernelRunner final : public KernelDevice {
 public:
  static constexpr int kQueues = 2;

  KernelRunner(const Device& device, cl_context context,
               std::array<cl_command_queue, kQueues> queues, OpenCLSpace& space);

  /// The implementation of `kernel` for this device: one for its type (CPU or GPU), else one
  /// for any device, leaving out those that need fp64 on a device without it; nullptr when
  /// there is none.
  const backend::OpenCLImplementation* choose(const backend::KernelDefinition& kernel) const;
  /// Whether choose() finds one; when not, `why` says so (naming fp64 when that is the reason).
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const;

  /// Runs every tile `work` gives the node through the shared pipeline (lane i is queue i).
  void run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
    pipeline_.run(launch, work, trace);
  }

  // KernelDevice
  int queues() const override { return kQueues; }
  MemorySpace& space() override { return space_; }
  void begin(const backend::Launch& launch, TraceLane& lane) override;
  DeviceCommandPtr copy(int queue, void* device, void* host, const CopyRegion& region,
                        bool to_device) override;
  void copy_to_host_now(const void* device, void* host, const CopyRegion& region) override;
  DeviceCommandPtr launch(int queue, const backend::Launch& launch, const backend::TileRange& tile,
                          std::span<const backend::ArgumentBinding> arguments,
                          std::span<const DeviceCommandPtr> after) override;
  void flush(int queue) override;
  void drain() noexcept override;
  bool takes_windows() const override { return implementation_->options.array_origins; }

 private:
  struct Built {
    Program program;
    Kernel kernel;
  };
  class Command;

  Built& built_for(const backend::KernelDefinition& kernel,
                   const backend::OpenCLImplementation& implementation, TraceLane& lane);
  /// Enqueues one copy of `region` on `queue`: a range, or a rectangle for rows that lie apart.
  void enqueue_copy(cl_command_queue queue, const void* device, void* host,
                    const CopyRegion& region, bool to_device, bool blocking, cl_event* event);

  const Device& device_;
  cl_context context_;
  std::array<cl_command_queue, kQueues> queues_;
  OpenCLSpace& space_;
  std::map<std::pair<std::uint64_t, const backend::OpenCLImplementation*>, Built> built_;
  Queue write_back_queue_;  // copies of registered arrays back to the host, for any thread
  Buffer<std::uint32_t> clock_probe_;
  std::optional<DeviceClock> clock_;                               // the current launch's
  const backend::OpenCLImplementation* implementation_ = nullptr;  // the current launch's
  Built* built_now_ = nullptr;
  KernelPipeline pipeline_{*this};  // last: it goes first, while the device is still here
};

}  // namespace hetero::nodes::opencl

// User kernels on a CUDA GPU (the cuda and thrust nodes): the kernel's CUDA launcher on the
// node's streams; the device side of the shared kernel pipeline (asynchronous copies and
// launches, each timed by a pair of events on the device's clock).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "nodes/cuda/runtime.hpp"
#include "nodes/kernel_pipeline.hpp"

namespace hetero::nodes::cuda {

class KernelRunner final : public KernelDevice {
 public:
  /// `streams`: the tiles in flight, one per lane of the node, made now on `device` (the current
  /// one). `thrust`: the node runs a kernel's Thrust implementation where it has one.
  /// `resident_threads`: the threads the device holds at once.
  KernelRunner(std::string_view node, int device, DeviceSpace& space, int streams, bool thrust,
               std::int64_t resident_threads);
  ~KernelRunner() override;

  /// A GPU node runs the kernel's CUDA implementation (the thrust node its Thrust one first).
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const;
  /// Runs every tile `work` gives the node through the shared pipeline (lane i is stream i).
  void run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace);

  // KernelDevice
  int queues() const override { return streams_count_; }
  MemorySpace& space() override { return space_; }
  void begin(const backend::Launch& launch, TraceLane& lane) override;
  DeviceCommandPtr copy(int queue, void* device, void* host, const CopyRegion& region,
                        bool to_device) override;
  void copy_to_host_now(const void* device, void* host, const CopyRegion& region) override;
  DeviceCommandPtr launch(int queue, const backend::Launch& launch, const backend::TileRange& tile,
                          std::span<const backend::ArgumentBinding> arguments,
                          std::span<const DeviceCommandPtr> after) override;
  void flush(int /*queue*/) override {}
  void drain() noexcept override;
  /// A CUDA launcher indexes from `data` as element 0: a window needs nothing of it.
  bool takes_windows() const override { return true; }
  /// The resident threads, times the elements each computes where the node runs the kernel's
  /// CUDA implementation (KernelDefinition::cuda_elements_per_thread).
  std::int64_t full_wave(const backend::KernelDefinition& kernel) const override;

 private:
  class Command;

  const backend::CudaImplementation& implementation(const backend::KernelDefinition& kernel) const;

  std::string node_;
  int device_;
  DeviceSpace& space_;
  int streams_count_;
  bool thrust_;
  std::int64_t resident_threads_;
  PinnedHostSpace pinned_;
  // The work counters' device memory: a space of its own, outside the cap that `space_` holds
  // the run's data to (a run in pieces fills that cap to the byte before its first launch).
  DeviceSpace counter_space_;
  class Counters;
  std::unique_ptr<Counters> counters_;  // of counting launches (KernelDefinition::cuda_counts_work)
  std::vector<std::unique_ptr<Stream>> streams_;  // made with the runner
  std::optional<DeviceClock> clock_;              // the current launch's
  KernelPipeline pipeline_{*this};                // last: it goes first
};

}  // namespace hetero::nodes::cuda

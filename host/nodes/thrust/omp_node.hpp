// The thrust node on Thrust's OpenMP system (thrust:omp): the thrust node's kernel source and the
// shared device pipeline (tiles in flight per queue, replicas of registered arrays kept between
// runs, every copy traced), on memory of its own in host RAM that Thrust's OpenMP threads compute
// in. Only the system differs from the thrust node on a GPU: its queues run each command as it is
// enqueued, its copies are memcpy, its policy is thrust::omp::par. It needs no GPU, so the thrust
// node's logic runs wherever hetero is tested.
#pragma once

#include <memory>
#include <string>

#include "core/link_cache.hpp"
#include "hetero/backend/node.hpp"

namespace hetero::nodes {

class ThrustOmpNode final : public Node {
 public:
  /// The device name that selects this system: thrust:omp, or --device omp.
  static constexpr std::string_view kDevice = "omp";
  /// Queues, each a trace lane, as the thrust node's streams on a GPU.
  static constexpr int kQueues = 2;

  /// Measures the link (memcpy into the node's memory) once per process, or reads it from the
  /// link cache; caps the node's memory at options.memory of the host memory free now.
  explicit ThrustOmpNode(const NodeOptions& options);
  ~ThrustOmpNode() override;

  const NodeInfo& info() const override { return info_; }
  int lanes() const override { return kQueues; }
  MemorySpace* memory_space() override;
  /// Elements enough for a parallel loop to outweigh starting it: kElementsPerThread a thread.
  std::int64_t full_wave(const backend::KernelDefinition& kernel) const override;
  static constexpr std::int64_t kElementsPerThread = 1024;

  /// The kernel's Thrust implementation for the OpenMP system (KernelDefinition::thrust_omp).
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  /// The node's NodeInfo; its link as far as it is known (describing never measures).
  static NodeInfo describe();
  /// Measures the link anew (the backend's probe).
  static Link probe();

 private:
  class Space;
  class Device;

  static Link probe_or_cache(LinkLookup lookup);

  NodeInfo info_;
  std::unique_ptr<Space> space_;
  std::unique_ptr<Device> device_;
};

}  // namespace hetero::nodes

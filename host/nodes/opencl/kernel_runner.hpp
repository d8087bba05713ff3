// User kernels on the opencl node: the OpenCL implementation chosen for the device, built once
// per device, arguments bound in order, arrays as device replicas that tiles copy into and out
// of, every copy and kernel traced on the device's own clock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"
#include "replica.hpp"
#include "runtime.hpp"
#include "space.hpp"

namespace hetero::nodes::opencl {

class KernelRunner {
 public:
  static constexpr int kQueues = 2;

  KernelRunner(const Device& device, cl_context context,
               std::array<cl_command_queue, kQueues> queues, OpenCLSpace& space);
  /// Writes the blocks only this node holds back to their arrays' host copies.
  ~KernelRunner();
  KernelRunner(const KernelRunner&) = delete;
  KernelRunner& operator=(const KernelRunner&) = delete;

  /// The implementation of `kernel` for this device: one for its type (CPU or GPU), else one
  /// for any device; nullptr when there is none.
  const backend::OpenCLImplementation* choose(const backend::KernelDefinition& kernel) const;

  /// Runs every tile `work` gives the node: plain read arrays go in once, each tile's slices in
  /// and its written slices out; registered arrays keep a replica here between runs, from which
  /// only stale blocks are copied in and written blocks stay until something else needs them.
  /// kQueues tiles in flight on as many queues (lane i is queue i).
  void run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace);

 private:
  struct Built {
    Program program;
    Kernel kernel;
  };
  struct Slot;
  class Replicas;

  /// This node's space as array records know it: the MemorySpace the node reports.
  const void* space_key() const { return static_cast<const MemorySpace*>(&space_); }
  /// The replica of `array` in this node's space, made on first use (see with_room).
  OpenCLReplica& replica_of(backend::ArrayRecord& array, const backend::Launch& launch,
                            TraceLane& lane);
  /// Calls `allocate()`; while the space is full, evicts the replica least recently used by a
  /// launch (not one `launch` uses: its blocks only this node held go back to the host first,
  /// traced on `lane` as evictions) and tries again. Throws OutOfMemory when nothing is left
  /// to evict.
  template <class Allocate>
  auto with_room(const backend::Launch& launch, TraceLane& lane, Allocate allocate) {
    for (;;) {
      try {
        return allocate();
      } catch (const OutOfMemory&) {
        if (!evict_one(launch, lane)) throw;
      }
    }
  }
  bool evict_one(const backend::Launch& launch, TraceLane& lane);

  Built& built_for(const backend::KernelDefinition& kernel,
                   const backend::OpenCLImplementation& implementation, TraceLane& lane);
  static void bind_arguments(cl_kernel kernel, const OpenCLOptions& options,
                             const backend::Launch& launch, const backend::TileRange& range,
                             const Replicas& replicas);

  const Device& device_;
  cl_context context_;
  std::array<cl_command_queue, kQueues> queues_;
  OpenCLSpace& space_;
  std::map<std::pair<std::uint64_t, const backend::OpenCLImplementation*>, Built> built_;
  Queue write_back_queue_;  // copies of registered arrays back to the host, for any thread
  struct Held {
    std::weak_ptr<backend::ArrayRecord> array;  // an array with a replica here
    std::uint64_t last_used = 0;                // the launch that last used it
  };
  std::vector<Held> held_;
  std::uint64_t launches_ = 0;
};

}  // namespace hetero::nodes::opencl

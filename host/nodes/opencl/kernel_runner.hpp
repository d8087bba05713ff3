// User kernels on the opencl node: the OpenCL implementation chosen for the device, built once
// per device, arguments bound in order, arrays as device replicas that tiles copy into and out
// of, every copy and kernel traced on the device's own clock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "runtime.hpp"
#include "space.hpp"

namespace hetero::nodes::opencl {

class KernelRunner {
 public:
  static constexpr int kQueues = 2;

  KernelRunner(const Device& device, cl_context context,
               std::array<cl_command_queue, kQueues> queues, OpenCLSpace& space)
      : device_(device), context_(context), queues_(queues), space_(space) {}

  /// The implementation of `kernel` for this device: one for its type (CPU or GPU), else one
  /// for any device; nullptr when there is none.
  const backend::OpenCLImplementation* choose(const backend::KernelDefinition& kernel) const;

  /// Runs every tile `work` gives the node: read arrays go in once, each tile's slices in and
  /// its written slices out, kQueues tiles in flight on as many queues (lane i is queue i).
  void run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace);

 private:
  struct Built {
    Program program;
    Kernel kernel;
  };
  struct Slot;
  class Replicas;

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
};

}  // namespace hetero::nodes::opencl

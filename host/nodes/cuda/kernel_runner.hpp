// User kernels on a CUDA GPU (the cuda and thrust nodes): the kernel's CUDA launcher on the
// node's stream, arrays as device replicas that tiles copy into and out of, each copy traced.
#pragma once

#include <string>
#include <string_view>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "nodes/cuda/runtime.hpp"

namespace hetero::nodes::cuda {

class KernelRunner {
 public:
  KernelRunner(std::string_view node, int device, DeviceSpace& space)
      : node_(node), device_(device), space_(space) {}

  /// A GPU node runs the kernel's CUDA implementation.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const;
  /// Runs every tile `work` gives the node on one stream (lane 0): read arrays go in once, each
  /// tile's slices in before its launch and its written slices out after it.
  void run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace);

 private:
  std::string node_;
  int device_;
  DeviceSpace& space_;
};

}  // namespace hetero::nodes::cuda

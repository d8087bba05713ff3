// The thrust node: one CUDA GPU whose kernels are written with Thrust. It runs a kernel's
// Thrust implementation (the Mandelbrot kernel's is a thrust::transform of the point function
// over a counting iterator), or its CUDA one when it has none, through the shared device
// pipeline on one stream.
#pragma once

#include "hetero/backend/node.hpp"
#include "nodes/cuda/gpu_node.hpp"

namespace hetero::nodes {

class ThrustNode final : public cuda::GpuNode {
 public:
  /// One stream, one lane.
  static constexpr int kLanes = 1;

  /// Opens the device `options.device` selects and measures its link (once per process).
  explicit ThrustNode(const NodeOptions& options);
};

}  // namespace hetero::nodes

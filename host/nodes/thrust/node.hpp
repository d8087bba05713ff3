// The thrust node: one CUDA GPU whose kernels are written with Thrust. It runs a kernel's
// Thrust implementation (the Mandelbrot kernel's is a thrust::transform of the point function
// over a counting iterator), or its CUDA one when it has none, through the shared device
// pipeline on two streams. On device omp (thrust:omp) it is Thrust's OpenMP system instead
// (nodes/thrust/omp_node.hpp).
#pragma once

#include "hetero/backend/node.hpp"
#include "nodes/cuda/gpu_node.hpp"

namespace hetero::nodes {

class ThrustNode final : public cuda::GpuNode {
 public:
  /// Streams, each a lane: while one stream's tile crosses the link, the other's kernel runs.
  static constexpr int kLanes = 2;

  /// Opens the device `options.device` selects and measures its link (once per process).
  explicit ThrustNode(const NodeOptions& options);
};

}  // namespace hetero::nodes

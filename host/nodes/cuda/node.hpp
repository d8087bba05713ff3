// The cuda node: one CUDA GPU driven through the runtime API, with streams that overlap one
// tile's copies with the other stream's kernel (the shared device pipeline).
#pragma once

#include "hetero/backend/node.hpp"
#include "nodes/cuda/gpu_node.hpp"

namespace hetero::nodes {

class CudaNode final : public cuda::GpuNode {
 public:
  /// Streams, each a trace lane: while one stream's tile crosses the link, the others' kernels
  /// run, and the device never waits for the host to hand it the next tile.
  static constexpr int kStreams = 4;

  /// Opens the device `options.device` selects, measures its link (once per process) and loads
  /// the Mandelbrot kernels; throws Error when the device cannot be opened. The Mandelbrot job
  /// runs the counts kernel HETERO_CUDA_KERNEL names: refill (the default: a lane whose pixel is
  /// done takes the next) or per_pixel (one thread a pixel); another value is a UsageError.
  explicit CudaNode(const NodeOptions& options);
};

}  // namespace hetero::nodes

// The cuda node: one CUDA GPU driven through the runtime API, with streams that overlap one
// tile's copies with the other stream's kernel (the shared device pipeline).
#pragma once

#include "hetero/backend/node.hpp"
#include "nodes/cuda/gpu_node.hpp"

namespace hetero::nodes {

class CudaNode final : public cuda::GpuNode {
 public:
  /// Streams, each a trace lane: while one stream's tile crosses the link, the other's kernel
  /// runs.
  static constexpr int kStreams = 2;

  /// Opens the device `options.device` selects and measures its link (once per process);
  /// throws Error when the device cannot be opened.
  explicit CudaNode(const NodeOptions& options);
};

}  // namespace hetero::nodes

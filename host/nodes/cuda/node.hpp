// The cuda node: one CUDA GPU driven through the runtime API, with streams that overlap each
// tile's copy back to the host with the next tile's kernel.
#pragma once

#include <memory>

#include "hetero/backend/node.hpp"
#include "nodes/cuda/gpu_node.hpp"

namespace hetero::nodes {

class CudaNode final : public cuda::GpuNode {
 public:
  /// Streams, each a trace lane: while one stream's counts cross the link, the next tile's
  /// kernel runs on the other.
  static constexpr int kStreams = 2;

  /// Opens the device `options.device` selects and measures its link (once per process);
  /// throws Error when the device cannot be opened.
  explicit CudaNode(const NodeOptions& options);
  ~CudaNode() override;
  /// Uploads the job's axes once, then computes each tile `work` hands out on the streams in
  /// turn; a tile is reported completed once its counts are in `counts`. Static policy: the
  /// node's assigned tiles in order until a stop is asked. Self-scheduling: tiles from next().
  void run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
           NodeTrace& trace) override;

 private:
  struct Device;  // CUDA resources; their types stay out of this header
  template <class Real>
  void run_in(const Job& job, WorkSource& work, std::span<std::uint32_t> counts, NodeTrace& trace);

  std::unique_ptr<Device> resources_;
};

}  // namespace hetero::nodes

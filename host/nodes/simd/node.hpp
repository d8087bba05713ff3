// The simd node: a pool of std::threads, one lane per worker, each running the Highway tile
// kernel (kernels/simd/) on the widest vectors this CPU has.
#pragma once

#include <memory>
#include <string>

#include "hetero/backend/node.hpp"
#include "hetero/workload.hpp"

namespace hetero::detail {
class ThreadPool;
}

namespace hetero::nodes {

class SimdNode final : public Node {
 public:
  explicit SimdNode(const NodeOptions& options);
  ~SimdNode() override;
  const NodeInfo& info() const override { return info_; }
  /// Kernels: the simd implementation (else the host one), as the threads node runs them.
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override;
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override;

  /// Workers: NodeOptions.workers, or one per hardware thread. Kernel: kSimdNodeKernel, or
  /// "simd" (the plain vector loop) or "simd-shortcuts" when NodeOptions.kernel asks for it
  /// (any other kernel name is ignored: this node exists to run a SIMD kernel).
  static NodeInfo describe(const NodeOptions& options);

 private:
  NodeInfo info_;
  std::unique_ptr<detail::ThreadPool> pool_;
};

/// The performance model's bound on the simd kernel, in Giter/s, for `cores` cores at
/// `ghz` GHz:
///
///   peak = cores * ghz * pipes * lanes / ops
///
/// - pipes: vector arithmetic instructions a core retires per cycle, the host model's
///   fma_ports (hetero/machine.hpp);
/// - lanes: values per vector of the dispatched instruction set for the precision (8 fp64 or
///   16 fp32 with AVX-512), 1 where the kernel runs scalar code;
/// - ops: vector arithmetic instructions per iteration in the kernel's inner loop, where the
///   escape test runs once per segment of steps: exact 7 (3 mul + 4 add/sub), fma 4 (3 fma +
///   1 add). The first round's per-step test and the screens cost more than that on the
///   pixels that escape early; the model leaves them out.
///
/// A core that runs faster than `ghz` (turbo) can exceed it.
double simd_peak_giters(Precision precision, Mode mode, int cores, double ghz);
/// The same at the host's nominal clock, on at most the host's physical cores (two hardware
/// threads of one core share its pipes).
double simd_peak_giters(Precision precision, Mode mode, int cores);

}  // namespace hetero::nodes

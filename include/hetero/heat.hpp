// The heat workload: an explicit 2-D heat equation (5-point Jacobi, fixed boundary) run for N
// steps as N public runs over two registered arrays, each step reading the other's rows with a
// halo of one. Results stay where they were computed: after the first step only halo rows cross
// a link. Every node and split gives the same bits (no contraction).
#pragma once

#include <cstdint>
#include <vector>

#include "hetero/report.hpp"
#include "hetero/runtime.hpp"

namespace hetero {

struct HeatSpec {
  std::int64_t width = 1024, height = 1024;
  std::int64_t steps = 100;
  /// The largest step count a run takes.
  static constexpr std::int64_t kMaxSteps = 1'000'000;
};

/// Checks a spec before any work: a grid of at least 3x3 whose two fields fit in the host's
/// available memory, and 1 to kMaxSteps steps. Throws UsageError (one line) naming the option.
void validate(const HeatSpec& spec);

/// The field at step 0: cold, with a hot top edge, a warm left edge and a hot disc in the middle.
std::vector<float> heat_initial_field(std::int64_t width, std::int64_t height);

/// One step: out = in + alpha * (left + right + up + down - 4 in) inside, out = in on the
/// boundary; host and OpenCL implementations, exact. Parameters: in, out, alpha, width, height.
const Kernel<Tile2D, View2D<const float>, View2D<float>, float, std::int64_t, std::int64_t>&
heat_kernel();

/// The diffusion number of every step (stable at 0.25 and below).
inline constexpr float kHeatAlpha = 0.2F;

struct HeatResult {
  std::vector<float> field;  ///< the field after the last step, row-major
  /// The runs together: per node its tiles, cell updates (work units), busy time and bytes by
  /// cause over every step; the wall time of the whole run; the checksum of the final field
  /// (sum of the cells' bit patterns, FNV-1a 64 of its bytes).
  Report report;
  /// Per step, per node: the bytes it copied, by cause.
  std::vector<std::vector<TransferBytes>> step_transfers;
};

/// Runs `spec` on `runtime`'s nodes. `options` apply to every step; their default policy is
/// static (each node keeps its band of rows from step to step).
HeatResult run_heat(Runtime& runtime, const HeatSpec& spec,
                    LaunchOptions options = {.policy = Policy::static_split});

/// The checksum of a field: the sum of its cells' bit patterns and FNV-1a 64 of its bytes.
Checksum field_checksum(std::span<const float> field);

}  // namespace hetero

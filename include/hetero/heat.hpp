// The heat workload: an explicit 2-D heat equation (5-point Jacobi, fixed boundary) run for N
// steps as N public runs over two registered arrays, each step reading the other's rows with a
// halo of one. Results stay where they were computed: after the first step only halo rows cross
// a link. Every node and split gives the same bits (no contraction).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
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
  /// Per step run here, per node: the bytes it copied, by cause.
  std::vector<std::vector<TransferBytes>> step_transfers;
  /// Per step run here, per node: the rows it computed (its band).
  std::vector<std::vector<std::int64_t>> step_rows;
  std::int64_t first_step = 0;  ///< the step it started from (a resumed run: the checkpoint's)
};

/// Checkpoints of a heat run: the field after every `every` steps, and when a stop ends the
/// run early, written whole to `file` (a new checkpoint replaces the last only once it is
/// complete). With `resume`, the run starts from the checkpoint's step and field.
struct HeatCheckpoints {
  std::filesystem::path file;  ///< empty: no checkpoints
  std::int64_t every = 0;      ///< steps between checkpoints; 0: only at a stop
  bool resume = false;
};

/// A checkpoint as read back: the step it was taken after and the field then.
struct HeatCheckpoint {
  std::int64_t width = 0, height = 0, step = 0;
  std::vector<float> field;
};
/// Reads `file`; throws UsageError (one line) when it cannot be read, is not a heat checkpoint
/// of this hetero version, or is damaged (its checksum differs).
HeatCheckpoint read_heat_checkpoint(const std::filesystem::path& file);

/// Runs `spec` on `runtime`'s nodes. `options` apply to every step; their default policy is
/// static (each node keeps its band of rows from step to step). A checkpoint to resume from
/// must be of a grid of the spec's size and at most its steps (UsageError otherwise); an
/// unwritable checkpoint file is refused before any step.
HeatResult run_heat(Runtime& runtime, const HeatSpec& spec,
                    LaunchOptions options = {.policy = Policy::static_split},
                    const HeatCheckpoints& checkpoints = {});

}  // namespace hetero

// Repeated timed runs and the JSON blocks the comparison and scaling outputs share.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "hetero/hetero.hpp"

namespace hetero::cli {

struct Measured {
  TimingSummary timing;
  RunResult last;  ///< the last timed run
  int lanes = 0;   ///< lanes of all the nodes
};

/// Runs `job` on `nodes` `warmup` times untimed, then `repeat` times timed (wall time of each
/// run); stops early with Cancelled on a stop request.
Measured measure_runs(std::vector<std::unique_ptr<Node>> nodes, const Job& job,
                      const RunOptions& options, int warmup, int repeat);

/// {"preset", "width", "height", "max_iter", "precision", "mode"} of a job.
nlohmann::json job_json(const JobSpec& spec);
/// The host's CPU, ISA, hardware threads and port-bound limit for (precision, mode).
nlohmann::json host_json(Precision precision, Mode mode);

}  // namespace hetero::cli

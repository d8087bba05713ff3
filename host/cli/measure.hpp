// What the comparison and scaling measurements share: their nodes as asked, and JSON blocks.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "hetero/hetero.hpp"

namespace hetero::cli {

/// Runtime options for exactly these nodes, each with its own options: what a measurement
/// compares must not be replanned.
RuntimeOptions exactly(std::vector<NodeSpec> nodes);

/// {"preset", "width", "height", "max_iter", "precision", "mode"} of a job.
nlohmann::json job_json(const JobSpec& spec);
/// A measurement's times as flat fields: min_s, median_s, max_s, mean_s, stddev_s, runs_s (every
/// run, in order) and noisy.
nlohmann::json timing_json(const TimingSummary& timing);
/// The host's CPU, ISA, hardware threads and port-bound limit for (precision, mode).
nlohmann::json host_json(Precision precision, Mode mode);

}  // namespace hetero::cli

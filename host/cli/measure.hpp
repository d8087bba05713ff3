// What the comparison and scaling measurements share: their nodes as asked, and JSON blocks.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hetero/hetero.hpp"

namespace hetero::cli {

inline constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

/// Runtime options for exactly these nodes, each with its own options: what a measurement
/// compares must not be replanned.
RuntimeOptions exactly(std::vector<NodeSpec> nodes);

/// "WIDTHxHEIGHT" as two integers; UsageError (naming --size) otherwise.
std::pair<std::int64_t, std::int64_t> parse_size(const std::string& text);

/// A kernel workload (heat or triad) as compare and scale measure it.
struct KernelWorkload {
  bool heat = true;
  HeatSpec heat_spec;
  TriadSpec triad_spec;

  /// `workload` (heat or triad) with --size and --steps applied and validated.
  static KernelWorkload parse(const std::string& workload, const std::optional<std::string>& size,
                              const std::optional<std::string>& steps);
  std::string name() const { return heat ? "heat" : "triad"; }
  /// The same workload `factor` times as large (heat: its height; triad: its elements).
  KernelWorkload grown(int factor) const;
  /// What grows: heat's height, triad's elements.
  std::int64_t size() const { return heat ? heat_spec.height : triad_spec.elements; }
  /// "heat 2048x2048, 100 steps", "triad 16777216 floats, 5 runs".
  std::string describe() const;
  /// Its policy on `nodes` nodes unless one is given: static for heat (bands stay); else dynamic
  /// for one node, auto for several (as render's).
  Policy default_policy(std::size_t nodes = 1) const {
    if (heat) return Policy::static_split;
    return nodes > 1 ? Policy::automatic : Policy::dynamic;
  }
  /// One run: heat's steps, or triad's runs as one report (their wall time and work summed).
  Report run(Runtime& runtime, const LaunchOptions& options) const;
};

/// {"preset", "width", "height", "max_iter", "precision", "mode"} of a job.
nlohmann::json job_json(const JobSpec& spec);
/// A measurement's times as flat fields: min_s, median_s, max_s, mean_s, stddev_s, runs_s (every
/// run, in order) and noisy.
nlohmann::json timing_json(const TimingSummary& timing);
/// The host's CPU, ISA, hardware threads and port-bound limit for (precision, mode).
nlohmann::json host_json(Precision precision, Mode mode);

}  // namespace hetero::cli

// Helpers shared by the test files: running a job on named backends and the serial reference.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hetero/hetero.hpp"

namespace hetero::test {

/// Runs `spec` on the named backends together under `policy`.
inline RunResult run_on(const std::vector<std::string>& names, const JobSpec& spec,
                        Policy policy = Policy::dynamic, std::int64_t tile = 0,
                        const NodeOptions& options = {}) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (const std::string& name : names) {
    nodes.push_back(NodeRegistry::builtin().create(name, options));
  }
  Dispatcher dispatcher(std::move(nodes));
  RunOptions run_options;
  run_options.policy = policy;
  run_options.tile_pixels = tile;
  return dispatcher.run(Job(spec), run_options);
}

/// The reference counts: the serial node, one tile per row.
inline std::vector<std::uint32_t> serial_counts(const JobSpec& spec) {
  return run_on({"serial"}, spec, Policy::dynamic, spec.width).counts;
}

/// A region job of the given size and limits.
inline JobSpec region_job(Region region, std::int64_t width, std::int64_t height,
                          std::int64_t max_iter, Precision precision = Precision::fp64,
                          Mode mode = Mode::exact) {
  JobRequest request;
  request.preset = "region";
  request.region = region;
  request.width = width;
  request.height = height;
  request.max_iter = max_iter;
  request.precision = precision;
  request.mode = mode;
  return resolve_job(request);
}

/// Names of backends that can run here, for building combinations.
inline std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const Backend& backend : NodeRegistry::builtin().backends()) {
    if (NodeRegistry::builtin().describe(backend.name).available) names.push_back(backend.name);
  }
  return names;
}

}  // namespace hetero::test

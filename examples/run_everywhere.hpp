// What every example does with its kernel: run it on each node available here, one at a time,
// and compare the result with a plain loop.
#pragma once

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <hetero/hetero.hpp>

namespace examples {

/// The backends that can run here, except mpi (it runs under mpirun).
inline std::vector<std::string> available_nodes() {
  std::vector<std::string> names;
  for (const hetero::Backend& backend : hetero::NodeRegistry::builtin().backends()) {
    if (backend.name == "mpi") continue;
    if (hetero::NodeRegistry::builtin().describe(backend.name).available) {
      names.push_back(backend.name);
    }
  }
  return names;
}

/// Calls `run(runtime)` with a Runtime of each available node that `wanted` accepts; `run`
/// returns true when the result matched. Prints one line per node; returns the exit status.
template <class Wanted, class Run>
int run_everywhere(const char* example, Wanted wanted, Run run) {
  int failures = 0, runs = 0;
  for (const std::string& name : available_nodes()) {
    if (!wanted(name)) continue;
    try {
      hetero::RuntimeOptions options;
      options.nodes = {name};
      hetero::Runtime runtime(options);
      const bool same = run(runtime);
      std::printf("%s on %s: %s\n", example, name.c_str(),
                  same ? "matches the plain loop" : "DIFFERS");
      if (!same) ++failures;
      ++runs;
    } catch (const std::exception& e) {
      std::printf("%s on %s: failed: %s\n", example, name.c_str(), e.what());
      ++failures;
    }
  }
  if (runs == 0) {
    std::printf("%s: no node could run it\n", example);
    return 1;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace examples

// What every example does with its kernel: run it on each node available here (or each that
// `--nodes` names), one at a time and then all together, and compare the result with a plain
// loop.
#pragma once

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <hetero/hetero.hpp>

namespace examples {

/// The backends that can run here (mpi on rank 0 of an mpirun job of 2 or more ranks).
inline std::vector<std::string> available_nodes() {
  std::vector<std::string> names;
  for (const hetero::Backend& backend : hetero::NodeRegistry::builtin().backends()) {
    if (hetero::NodeRegistry::builtin().describe(backend.name).available) {
      names.push_back(backend.name);
    }
  }
  return names;
}

/// The nodes `--nodes NAME[,NAME...]` asks for, each of which must run; without it, every
/// available node.
inline std::vector<std::string> requested_nodes(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) != "--nodes") continue;
    std::vector<std::string> names;
    std::string list = argv[i + 1];
    for (std::size_t start = 0, comma = 0; start <= list.size(); start = comma + 1) {
      comma = std::min(list.find(',', start), list.size());
      if (comma > start) names.push_back(list.substr(start, comma - start));
    }
    return names;
  }
  return available_nodes();
}

/// Runs `run(runtime)` on a Runtime of every one of `nodes` and prints whether it matched; false if
/// not.
template <class Run>
bool run_on(const char* example, const std::vector<std::string>& nodes, Run& run) {
  std::string names;
  for (const std::string& name : nodes) names += (names.empty() ? "" : "+") + name;
  try {
    hetero::RuntimeOptions options;
    options.nodes = nodes;
    options.share = true;  // every node named runs, even where several share the CPU
    hetero::Runtime runtime(options);
    const bool same = run(runtime);
    std::printf("%s on %s: %s\n", example, names.c_str(),
                same ? "matches the plain loop" : "DIFFERS");
    return same;
  } catch (const std::exception& e) {
    std::printf("%s on %s: failed: %s\n", example, names.c_str(), e.what());
    return false;
  }
}

/// Calls `run(runtime)` with a Runtime of each requested node that `wanted` accepts, then of
/// all of them together; `run` returns true when the result matched. Prints one line per run;
/// returns the exit status: non-zero when a run differed or failed, or when none ran.
template <class Wanted, class Run>
int run_everywhere(int argc, char** argv, const char* example, Wanted wanted, Run run) {
  std::vector<std::string> nodes;
  for (const std::string& name : requested_nodes(argc, argv)) {
    if (wanted(name)) nodes.push_back(name);
  }
  if (nodes.empty()) {
    std::printf("%s: no node could run it\n", example);
    return 1;
  }
  int failures = 0;
  for (const std::string& name : nodes) failures += run_on(example, {name}, run) ? 0 : 1;
  if (nodes.size() > 1) failures += run_on(example, nodes, run) ? 0 : 1;
  return failures == 0 ? 0 : 1;
}

}  // namespace examples

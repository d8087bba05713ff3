// Backend modules: shared libraries (hetero-<name>.so) that hold the backends with outside
// runtimes, found beside the library or on HETERO_MODULE_PATH and loaded on first use.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hetero {
class NodeRegistry;
}

namespace hetero::detail {

/// What a module's entry point, `hetero_module_entry()`, returns. `version` comes first and
/// stays first in every version: the loader reads it before anything else.
struct ModuleEntry {
  const char* version;  ///< HETERO_VERSION_STRING of the hetero the module was built for
  /// Adds the module's backends to `registry`, and its host tile kernels and launchers to the
  /// library's tables.
  void (*register_backends)(NodeRegistry& registry);
  /// The mpi module's launch hook (nodes::mpi::join_mpi_job and set_remote_rank_backend);
  /// null in the others.
  std::optional<int> (*join_mpi_job)(int& argc, char** argv);
  void (*set_remote_rank_backend)(std::string name);
};

/// The name of a module's entry point.
inline constexpr const char* kModuleEntrySymbol = "hetero_module_entry";

/// A module as loaded: its entry and the backends it registered, or why it could not load.
struct LoadedModule {
  const ModuleEntry* entry = nullptr;  ///< null when it could not load
  const NodeRegistry* backends = nullptr;
  std::string error;  ///< one line: the loader's reason, e.g. "libmpi.so.40: cannot open ..."
};

/// Module `name` (e.g. "opencl" for hetero-opencl.so), loaded on the first call, with
/// RTLD_NODELETE: it stays loaded until the process exits. Thread-safe; a failure is kept and
/// given again.
const LoadedModule& load_module(std::string_view name);

/// load_module, or an Error naming the module and why it cannot load.
const ModuleEntry& require_module(std::string_view name);

/// What module `name` registers besides its backends (host tile kernels, launchers) is in
/// place: loads it (an Error when it cannot), or in a build without modules makes the built-in
/// registry, whose backends register it all.
void ensure_module(std::string_view name);

/// Whether this library was built with backend modules (HETERO_MODULES).
bool modules_enabled();

/// The folders searched for modules, in order: each entry of HETERO_MODULE_PATH (':'-separated),
/// then the folder `hetero` beside the library (libhetero.so, or the program linking it).
std::vector<std::filesystem::path> module_search_path();

}  // namespace hetero::detail

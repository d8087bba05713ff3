// What the library may do on its own. By default hetero prints nothing and writes no file: its
// warnings are dropped and what it measures (device links) lives in the process. An application
// opts in to a log of the warnings and to measurements kept on disk across runs; both settings
// are process-wide, as the measurements are of the machine.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

namespace hetero {

/// Keeps measurements in `directory` across processes. An empty path means the standard place,
/// cache_directory() ($HETERO_CACHE_DIR, else $XDG_CACHE_HOME/hetero, else
/// $HOME/.cache/hetero), looked up at each use; nullopt (the default) keeps them in this
/// process only.
void set_cache_directory(std::optional<std::filesystem::path> directory);

/// The folder measurements are kept in now, or nullopt when they stay in the process.
std::optional<std::filesystem::path> persistent_cache_directory();

/// Receives each warning of the library (a corrupt cache, one that cannot be written) as one
/// line. An empty sink (the default) drops them.
void set_log_sink(std::function<void(std::string_view line)> sink);

namespace detail {
/// Gives `line` to the log sink, if the application set one.
void log_warning(std::string_view line);
}  // namespace detail

}  // namespace hetero

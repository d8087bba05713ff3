// The library's process-wide settings: where measurements are kept, and where warnings go.
#include "hetero/settings.hpp"

#include <mutex>
#include <string>

#include "hetero/model.hpp"

namespace hetero {
namespace {

struct Settings {
  std::mutex mutex;
  std::optional<std::filesystem::path> cache_directory;
  std::function<void(std::string_view)> log_sink;
};

Settings& settings() {
  static Settings instance;
  return instance;
}

}  // namespace

void set_cache_directory(std::optional<std::filesystem::path> directory) {
  Settings& s = settings();
  const std::lock_guard lock(s.mutex);
  s.cache_directory = std::move(directory);
}

std::optional<std::filesystem::path> persistent_cache_directory() {
  Settings& s = settings();
  std::optional<std::filesystem::path> directory;
  {
    const std::lock_guard lock(s.mutex);
    directory = s.cache_directory;
  }
  if (directory && directory->empty()) return cache_directory();
  return directory;
}

void set_log_sink(std::function<void(std::string_view line)> sink) {
  Settings& s = settings();
  const std::lock_guard lock(s.mutex);
  s.log_sink = std::move(sink);
}

namespace detail {

void log_warning(std::string_view line) {
  Settings& s = settings();
  std::function<void(std::string_view)> sink;
  {
    const std::lock_guard lock(s.mutex);
    sink = s.log_sink;
  }
  if (sink) sink(line);
}

}  // namespace detail
}  // namespace hetero

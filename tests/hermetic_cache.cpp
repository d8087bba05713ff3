// Every test process gets a cache directory of its own, so no test reads or writes the user's
// ~/.cache/hetero (throughput model, link probes), and no test sees another's measurements. The
// CLI tests' child processes inherit it. Set before main (GoogleTest lists and runs tests
// after), removed at exit.
#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "test_support.hpp"

namespace hetero::test {
namespace {

struct HermeticCache {
  HermeticCache() {
    setenv("HETERO_CACHE_DIR", (directory / "hetero").c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    setenv("XDG_CACHE_HOME", directory.c_str(), 1);                 // NOLINT(concurrency-mt-unsafe)
    // The tests opt in to the on-disk caches, at the standard place these variables set.
    set_cache_directory(std::filesystem::path());
  }
  ~HermeticCache() {
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
  }
  HermeticCache(const HermeticCache&) = delete;
  HermeticCache& operator=(const HermeticCache&) = delete;

  const std::filesystem::path directory = make_temporary_directory();
};

const HermeticCache& hermetic_cache() {
  static const HermeticCache cache;
  return cache;
}
// Constructed during static initialisation, before any test runs.
[[maybe_unused]] const HermeticCache& kProcessCache = hermetic_cache();

}  // namespace

std::filesystem::path hermetic_cache_directory() {
  return hermetic_cache().directory / "hetero";
}

}  // namespace hetero::test

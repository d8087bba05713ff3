// Helpers shared by hetero's libFuzzer targets: contract checks that abort with a message, so
// libFuzzer records the input that broke them; a quiet stderr; scratch files in memory.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace hetero::fuzz {

/// Aborts with `what` when a contract does not hold (assert() that NDEBUG cannot switch off).
inline void check(bool holds, std::string_view what) {
  if (holds) return;
  std::fprintf(stderr, "hetero fuzz: contract broken: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

/// The fuzz input as text (bytes taken as they are, NULs included).
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Sends stderr to /dev/null while it lives (code under test that warns at every input).
class QuietStderr {
 public:
  QuietStderr() : saved_(::dup(STDERR_FILENO)) {
    std::fflush(stderr);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, STDERR_FILENO);
      ::close(null);
    }
  }
  ~QuietStderr() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
    }
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_;
};

/// A path of this fuzzing process's own for `name`, in memory (/dev/shm) where there is one,
/// since rewriting a file on disk at every input is slow.
inline std::filesystem::path scratch_path(std::string_view name) {
  std::error_code error;
  const std::filesystem::path folder = std::filesystem::is_directory("/dev/shm", error)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
  return folder / ("hetero-fuzz-" + std::to_string(::getpid()) + "-" + std::string(name));
}

}  // namespace hetero::fuzz

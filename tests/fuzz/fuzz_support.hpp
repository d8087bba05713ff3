// Helpers shared by hetero's libFuzzer targets: contract checks that abort with a message, so
// libFuzzer records the input that broke them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

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

}  // namespace hetero::fuzz

// The device memory cap: its parsing and its value for a device.
#include <array>
#include <cmath>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "core/parse.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"
#include "hetero/workload.hpp"

namespace hetero {
namespace {

constexpr std::string_view kExpected =
    "expected a percentage of free memory (e.g. 90%) or bytes with an optional unit K, M, G or T "
    "(e.g. 512M)";

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  const std::string_view tail = text.substr(text.size() - suffix.size());
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    const char a =
        tail[i] >= 'A' && tail[i] <= 'Z' ? static_cast<char>(tail[i] - 'A' + 'a') : tail[i];
    if (a != suffix[i]) return false;
  }
  return true;
}

}  // namespace

std::uint64_t MemoryCap::of(std::uint64_t free_bytes) const {
  if (bytes != 0) return bytes;
  return static_cast<std::uint64_t>(std::floor(static_cast<double>(free_bytes) * fraction));
}

MemoryCap parse_memory_cap(std::string_view what, std::string_view text) {
  const auto fail = [&]() -> UsageError {
    return UsageError(fmt::format("{}: {}, got '{}'", what, kExpected, text));
  };
  MemoryCap cap;
  if (!text.empty() && text.back() == '%') {
    const std::string_view number = text.substr(0, text.size() - 1);
    double percent = 0;
    try {
      percent = parse_real(what, number);
    } catch (const UsageError&) {
      throw fail();
    }
    // A subnormal percentage passes "> 0" but its fraction underflows to 0.
    if (!(percent / 100 > 0 && percent <= 100)) {
      throw UsageError(fmt::format(
          "{}: {} is out of range; use a percentage above 0 and at most 100%", what, text));
    }
    cap.fraction = percent / 100;
    return cap;
  }
  // Units are binary: 1K = 1024 bytes; "KiB" and "K" are the same.
  static constexpr std::array<std::pair<std::string_view, double>, 9> kUnits = {{
      {"kib", 0x1p10},
      {"mib", 0x1p20},
      {"gib", 0x1p30},
      {"tib", 0x1p40},
      {"k", 0x1p10},
      {"m", 0x1p20},
      {"g", 0x1p30},
      {"t", 0x1p40},
      {"b", 1},
  }};
  std::string_view number = text;
  double unit = 1;
  for (const auto& [suffix, scale] : kUnits) {
    if (ends_with_ignoring_case(text, suffix)) {
      number = text.substr(0, text.size() - suffix.size());
      unit = scale;
      break;
    }
  }
  if (number.empty()) throw fail();
  // A bare number under 100 is almost surely a percentage without its sign: refuse it.
  if (unit == 1 && number.size() == text.size()) {
    double bare = 0;
    try {
      bare = parse_real(what, number);
    } catch (const UsageError&) {
      throw fail();
    }
    if (bare > 0 && bare < 100) {
      throw UsageError(
          fmt::format("{}: '{}' would be {} bytes; write {}% for a share of the "
                      "device's memory, or a size with its unit ({}M, {}G)",
                      what, text, text, text, text, text));
    }
  }
  double value = 0;
  try {
    value = parse_real(what, number) * unit;
  } catch (const UsageError&) {
    throw fail();
  }
  // 1024T is far beyond any device; the bound keeps the conversion defined.
  if (!(value >= 1 && value <= 0x1p50)) {
    throw UsageError(fmt::format(
        "{}: {} is out of range; use from 1 byte to 1024T, or a percentage", what, text));
  }
  cap.bytes = static_cast<std::uint64_t>(value);
  return cap;
}

}  // namespace hetero

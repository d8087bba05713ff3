// Parsers of command-line values, for the tool and the library's own option handling (not the
// public API): strict numbers and the --device-memory cap.
#pragma once

#include <cstdint>
#include <string_view>

#include "hetero/backend/node.hpp"

namespace hetero {

/// Strict number parsing for outside input; throw UsageError("<what>: expected ..., got '...'").
std::int64_t parse_integer(std::string_view what, std::string_view text, std::int64_t min,
                           std::int64_t max);
double parse_real(std::string_view what, std::string_view text);

/// Parses a --device-memory value: a percentage of free memory ("75%", in (0, 100]) or a byte
/// count with an optional binary unit ("512M", "2GiB", "1048576"; K, M, G, T with or without
/// "iB"). Throws UsageError("<what>: expected ..., got '...'").
MemoryCap parse_memory_cap(std::string_view what, std::string_view text);

}  // namespace hetero

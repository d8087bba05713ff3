// The bytes of a heat checkpoint: a fixed header (magic, hetero's version, the grid, the step),
// the field, then FNV-1a 64 of everything before it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "hetero/heat.hpp"

namespace hetero::detail {

/// The checkpoint of the field after `step`.
std::string encode_heat_checkpoint(std::int64_t width, std::int64_t height, std::int64_t step,
                                   std::span<const float> field);

/// The checkpoint in `bytes` (from the file `name`, for messages). Throws UsageError (one line)
/// when the bytes are not a heat checkpoint, were written by another hetero version, or are
/// damaged: a checksum that does not match, a grid under 3x3, a negative step, or a field of
/// another size than the grid's.
HeatCheckpoint parse_heat_checkpoint(std::string_view bytes, const std::string& name);

}  // namespace hetero::detail

// How the JSON outputs write a figure that may not have been measured.
#pragma once

#include <nlohmann/json.hpp>

namespace hetero::detail {

/// `value` when it was measured (above 0), else null: a JSON reader never takes "not measured"
/// for a measured zero.
inline nlohmann::json measured(double value) {
  return value > 0 ? nlohmann::json(value) : nlohmann::json(nullptr);
}

}  // namespace hetero::detail

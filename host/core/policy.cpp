// Policy names.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hetero/error.hpp"
#include "hetero/policy.hpp"

namespace hetero {

std::string_view to_string(Policy policy) {
  switch (policy) {
    case Policy::static_split:
      return "static";
    case Policy::weighted:
      return "weighted";
    case Policy::dynamic:
      return "dynamic";
    case Policy::guided:
      return "guided";
    case Policy::automatic:
      return "auto";
  }
  return "unknown";
}

std::vector<std::string_view> policy_names() {
  return {"static", "weighted", "dynamic", "guided", "auto"};
}

Policy parse_policy(std::string_view text) {
  for (const std::string_view name : policy_names()) {
    if (text == name) {
      if (name == "static") return Policy::static_split;
      if (name == "weighted") return Policy::weighted;
      if (name == "dynamic") return Policy::dynamic;
      if (name == "guided") return Policy::guided;
      return Policy::automatic;
    }
  }
  throw UsageError(
      fmt::format("unknown policy '{}': use {}", text, fmt::join(policy_names(), ", ")));
}

}  // namespace hetero

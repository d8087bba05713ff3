// Policy names.
#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/policy.hpp"

namespace hetero {

std::string_view to_string(Policy policy) {
  switch (policy) {
    case Policy::static_split:
      return "static";
    case Policy::dynamic:
      return "dynamic";
  }
  return "unknown";
}

std::vector<std::string_view> policy_names() { return {"static", "dynamic"}; }

Policy parse_policy(std::string_view text) {
  if (text == "static") return Policy::static_split;
  if (text == "dynamic") return Policy::dynamic;
  throw UsageError(fmt::format("unknown policy '{}': use {}", text, fmt::join(policy_names(), ", ")));
}

}  // namespace hetero

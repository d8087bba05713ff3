// Fuzz target: the name parsers of command-line values: hetero::parse_precision, parse_mode and
// parse_policy.
//
// The whole input is one value. Each parser either returns a known value whose name is exactly
// the input (to_string(parse(text)) == text), or throws hetero::UsageError; a known name is
// always accepted.
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "hetero/error.hpp"
#include "hetero/policy.hpp"
#include "hetero/workload.hpp"

namespace {

using hetero::fuzz::check;

// Checks one parser against its list of names.
template <class Parse>
void check_names(std::string_view text, const std::vector<std::string_view>& names, Parse parse,
                 std::string_view what) {
  const bool known = std::find(names.begin(), names.end(), text) != names.end();
  try {
    const auto value = parse(text);
    check(known, what);
    check(hetero::to_string(value) == text, what);
  } catch (const hetero::UsageError&) {
    check(!known, what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = hetero::fuzz::as_text(data, size);
  check_names(
      text, {"fp32", "fp64"}, [](std::string_view t) { return hetero::parse_precision(t); },
      "parse_precision: a known name maps to itself, anything else is a UsageError");
  check_names(
      text, {"exact", "fma"}, [](std::string_view t) { return hetero::parse_mode(t); },
      "parse_mode: a known name maps to itself, anything else is a UsageError");
  check_names(
      text, hetero::policy_names(), [](std::string_view t) { return hetero::parse_policy(t); },
      "parse_policy: a known name maps to itself, anything else is a UsageError");
  return 0;
}

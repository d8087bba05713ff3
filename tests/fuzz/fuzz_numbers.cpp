// Fuzz target: hetero::parse_integer and hetero::parse_real, the strict number parsers of
// command-line values, against a reference grammar.
//
// The whole input is one command-line value. parse_integer is tried with the ranges the CLI uses,
// parse_real once. Contracts checked:
//   - a parser either returns or throws hetero::UsageError (anything else escapes and crashes);
//   - a returned integer lies in [min, max], the text is [+-]?[0-9]+ and its value is the result;
//   - text of that form whose value lies in [min, max] is accepted;
//   - a returned real is finite, the text is [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)? and the result is
//     the correctly rounded value of the text (strtod);
//   - text of that form with a finite, normal (or zero) value is accepted.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "hetero/error.hpp"
#include "hetero/workload.hpp"

namespace {

using hetero::fuzz::check;

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

struct Range {
  std::int64_t min, max;
};
// The ranges hetero's CLI parses with: any int64 (sizes, max-iter), workers, repeats, tile.
constexpr Range kRanges[] = {{kInt64Min, kInt64Max}, {1, 4096}, {1, 1000}, {0, 100},
                             {1, kInt64Max},         {-5, -1}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The value of `text` if it is [+-]?[0-9]+, saturated to +-2^100 so that it compares correctly
// with any int64; nullopt when the text is not of that form.
std::optional<__int128> reference_integer(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i == text.size()) return std::nullopt;
  constexpr __int128 kSaturated = static_cast<__int128>(1) << 100;
  __int128 value = 0;
  for (; i < text.size(); ++i) {
    if (!is_digit(text[i])) return std::nullopt;
    value = value * 10 + (text[i] - '0');
    if (value > kSaturated) value = kSaturated;
  }
  return negative ? -value : value;
}

// True when `text` is [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)? with D a decimal digit.
bool is_decimal_real(std::string_view text) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    return i - start;
  };
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  std::size_t mantissa = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == text.size();
}

void check_integer(std::string_view text, Range range) {
  const std::optional<__int128> expected = reference_integer(text);
  const bool in_range = expected && *expected >= range.min && *expected <= range.max;
  try {
    const std::int64_t value = hetero::parse_integer("--fuzz", text, range.min, range.max);
    check(value >= range.min && value <= range.max, "parse_integer returned a value out of range");
    check(expected.has_value(), "parse_integer accepted text that is not [+-]?[0-9]+");
    check(*expected == value, "parse_integer returned a value other than the text's");
  } catch (const hetero::UsageError&) {
    check(!in_range, "parse_integer rejected a decimal integer within its range");
  }
}

void check_real(std::string_view text) {
  const bool decimal = is_decimal_real(text);
  // The correctly rounded value, from the C library (which also reads a leading '+').
  const std::string copy(text);
  errno = 0;
  const double reference = decimal ? std::strtod(copy.c_str(), nullptr) : 0.0;
  const bool reference_usable = decimal && errno == 0 && std::isfinite(reference) &&
                                (std::isnormal(reference) || reference == 0);
  try {
    const double value = hetero::parse_real("--fuzz", text);
    check(std::isfinite(value), "parse_real returned a value that is not finite");
    check(decimal, "parse_real accepted text that is not a decimal number");
    if (reference_usable) {
      check(std::memcmp(&value, &reference, sizeof value) == 0 || (value == 0 && reference == 0),
            "parse_real returned a value other than the text's correctly rounded value");
    }
  } catch (const hetero::UsageError&) {
    check(!reference_usable, "parse_real rejected a finite decimal number");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = hetero::fuzz::as_text(data, size);
  for (const Range range : kRanges) check_integer(text, range);
  check_real(text);
  return 0;
}

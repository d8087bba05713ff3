// Fuzz target: hetero::parse_integer, hetero::parse_real and hetero::parse_memory_cap, the strict
// number parsers of command-line values, against a reference grammar.
//
// The whole input is one command-line value. parse_integer is tried with the ranges the CLI uses,
// parse_real and parse_memory_cap once. Contracts checked:
//   - a parser either returns or throws hetero::UsageError (anything else escapes and crashes);
//   - a returned integer lies in [min, max], the text is [+-]?[0-9]+ and its value is the result;
//   - text of that form whose value lies in [min, max] is accepted;
//   - a returned real is finite, the text is [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)? and the result is
//     the correctly rounded value of the text (strtod);
//   - text of that form with a finite, normal (or zero) value is accepted;
//   - parse_memory_cap accepts exactly R% with R such a real in (0, 100] (fraction R/100), and
//     R followed by an optional unit (B, K, M, G, T, KiB, MiB, GiB, TiB in any case) whose
//     bytes lie in [1, 2^50] (bytes: the value times the unit, truncated), except a bare R
//     (no unit) under 100: a percentage missing its sign.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/parse.hpp"
#include "fuzz_support.hpp"
#include "hetero/backend/node.hpp"
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

// What the reference grammar says of a real: not one, one whose value strtod gives exactly
// (finite, normal or zero), or one at the edges (subnormal, overflowing) either way is right for.
struct ReferenceReal {
  bool decimal = false;
  std::optional<double> value;  // set when exact
};
ReferenceReal reference_real(std::string_view text) {
  ReferenceReal real;
  real.decimal = is_decimal_real(text);
  if (!real.decimal) return real;
  const std::string copy(text);
  errno = 0;
  const double value = std::strtod(copy.c_str(), nullptr);
  if (errno == 0 && std::isfinite(value) && (std::isnormal(value) || value == 0)) {
    real.value = value;
  }
  return real;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Bytes per unit of the unit `text` ends with (1 when none), and the text before it.
std::pair<std::string_view, double> split_unit(std::string_view text) {
  constexpr std::pair<std::string_view, double> kUnits[] = {
      {"kib", 0x1p10}, {"mib", 0x1p20}, {"gib", 0x1p30}, {"tib", 0x1p40}, {"k", 0x1p10},
      {"m", 0x1p20},   {"g", 0x1p30},   {"t", 0x1p40},   {"b", 1}};
  for (const auto& [unit, scale] : kUnits) {
    if (text.size() < unit.size()) continue;
    const std::string_view tail = text.substr(text.size() - unit.size());
    bool same = true;
    for (std::size_t i = 0; i < unit.size(); ++i) same = same && lower(tail[i]) == unit[i];
    if (same) return {text.substr(0, text.size() - unit.size()), scale};
  }
  return {text, 1};
}

void check_memory_cap(std::string_view text) {
  // expected: the cap the text must give; decided: false when either outcome is right.
  std::optional<hetero::MemoryCap> expected;
  bool decided = true;
  const bool percent = !text.empty() && text.back() == '%';
  if (percent) {
    const ReferenceReal real = reference_real(text.substr(0, text.size() - 1));
    decided = !real.decimal || real.value.has_value();
    if (real.value && *real.value > 0 && *real.value <= 100) {
      expected = hetero::MemoryCap{*real.value / 100, 0};
    }
  } else {
    const auto [number, unit] = split_unit(text);
    const ReferenceReal real = reference_real(number);
    decided = !real.decimal || real.value.has_value();
    const bool bare_under_100 = number.size() == text.size() && real.value && *real.value < 100;
    if (real.value && *real.value * unit >= 1 && *real.value * unit <= 0x1p50 && !bare_under_100) {
      expected = hetero::MemoryCap{0.9, static_cast<std::uint64_t>(*real.value * unit)};
    }
  }
  try {
    const hetero::MemoryCap cap = hetero::parse_memory_cap("--fuzz", text);
    check(cap.bytes == 0 ? cap.fraction > 0 && cap.fraction <= 1
                         : cap.bytes <= (std::uint64_t{1} << 50),
          "parse_memory_cap returned a cap out of range");
    check(cap.bytes == 0 || !percent, "parse_memory_cap read a percentage as bytes");
    if (!decided) return;
    check(expected.has_value(), "parse_memory_cap accepted text outside its grammar");
    check(cap.bytes == expected->bytes, "parse_memory_cap returned other bytes than the text's");
    check(cap.fraction == expected->fraction,
          "parse_memory_cap returned another fraction than the text's");
  } catch (const hetero::UsageError&) {
    check(!expected, "parse_memory_cap rejected a percentage or byte count within range");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = hetero::fuzz::as_text(data, size);
  for (const Range range : kRanges) check_integer(text, range);
  check_real(text);
  check_memory_cap(text);
  return 0;
}

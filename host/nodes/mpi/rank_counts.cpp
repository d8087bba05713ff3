// Parsing the rank counts of `hetero project --ranks`.
#include "nodes/mpi/rank_counts.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "core/parse.hpp"
#include "hetero/error.hpp"
#include "hetero/workload.hpp"

namespace hetero::nodes::mpi {

std::vector<int> parse_rank_counts(std::string_view text) {
  const std::string usage = fmt::format(
      "--ranks '{}': expected counts like 1,2,4,8 or a series like 1,2,4,...,1024", text);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    parts.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  constexpr std::int64_t kMaxRanks = 1 << 24;
  auto number = [&](const std::string& part) {
    return static_cast<int>(parse_integer("--ranks", part, 1, kMaxRanks));
  };
  std::vector<int> counts;
  const auto dots = std::find(parts.begin(), parts.end(), "...");
  if (dots == parts.end()) {
    for (const std::string& part : parts) counts.push_back(number(part));
  } else {
    // a, b, [more terms,] ..., last: the terms given, then the series on to `last`.
    const auto given = static_cast<std::size_t>(dots - parts.begin());
    if (given < 2 || parts.end() - dots != 2) throw UsageError(usage);
    for (std::size_t i = 0; i < given; ++i) counts.push_back(number(parts[i]));
    const int last = number(parts.back());
    if (counts[1] <= counts[0] || counts[1] % counts[0] != 0) throw UsageError(usage);
    const int ratio = counts[1] / counts[0];
    for (std::size_t i = 2; i < given; ++i) {
      if (counts[i] != std::int64_t{counts[i - 1]} * ratio) throw UsageError(usage);
    }
    for (std::int64_t count = std::int64_t{counts.back()} * ratio; count <= last; count *= ratio) {
      counts.push_back(static_cast<int>(count));
    }
    if (counts.back() != last) throw UsageError(usage);
  }
  if (std::adjacent_find(counts.begin(), counts.end(), std::greater_equal<>()) != counts.end()) {
    throw UsageError(usage);
  }
  return counts;
}

}  // namespace hetero::nodes::mpi

// Fuzz target: hetero::nodes::mpi::parse_rank_counts, the `hetero project --ranks` parser.
//
// The whole input is one value. The parser either throws hetero::UsageError or returns counts
// that are strictly increasing, each in [1, 2^24]; written back as a plain list they parse to the
// same counts; and where the input is a series ("a,b,...,last") they are geometric, from its
// first term to its last.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/parse.hpp"
#include "fuzz_support.hpp"
#include "hetero/error.hpp"
#include "hetero/workload.hpp"
#include "nodes/mpi/rank_counts.hpp"

namespace {

using hetero::fuzz::check;

std::string as_list(const std::vector<int>& counts) {
  std::string text;
  for (const int count : counts) text += (text.empty() ? "" : ",") + std::to_string(count);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = hetero::fuzz::as_text(data, size);
  std::vector<int> counts;
  try {
    counts = hetero::nodes::mpi::parse_rank_counts(text);
  } catch (const hetero::UsageError&) {
    return 0;
  }
  check(!counts.empty(), "parse_rank_counts: an accepted value gives at least one count");
  for (std::size_t i = 0; i < counts.size(); ++i) {
    check(counts[i] >= 1 && counts[i] <= (1 << 24), "parse_rank_counts: counts in [1, 2^24]");
    check(i == 0 || counts[i] > counts[i - 1], "parse_rank_counts: strictly increasing");
  }
  check(hetero::nodes::mpi::parse_rank_counts(as_list(counts)) == counts,
        "parse_rank_counts: the counts written as a list parse to themselves");
  if (text.find("...") != std::string_view::npos) {
    check(counts.size() >= 2, "parse_rank_counts: a series has two terms at least");
    const int ratio = counts[1] / counts[0];
    for (std::size_t i = 1; i < counts.size(); ++i) {
      check(counts[i] == counts[i - 1] * ratio, "parse_rank_counts: a series is geometric");
    }
    const std::string_view last = text.substr(text.rfind(',') + 1);
    check(counts.back() == hetero::parse_integer("last", last, 1, 1 << 24),
          "parse_rank_counts: a series ends at its last term");
  }
  return 0;
}

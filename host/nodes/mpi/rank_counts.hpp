// The rank counts of `hetero project --ranks`: a list, or a geometric series.
#pragma once

#include <string_view>
#include <vector>

namespace hetero::nodes::mpi {

/// Parses "1,2,4,8" or a geometric series "1,2,4,...,1024" (the ratio of the first two, up to
/// the last): strictly increasing counts in [1, 2^24]. Throws UsageError on anything else.
std::vector<int> parse_rank_counts(std::string_view text);

}  // namespace hetero::nodes::mpi

// Policies: how the dispatcher assigns a job's tiles to its nodes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace hetero {

enum class Policy : std::uint8_t {
  static_split,  ///< "static": tiles split evenly and contiguously over the nodes' lanes
  weighted,      ///< "weighted": tiles spread over the image, shared by measured throughput
  dynamic,       ///< "dynamic": one shared queue, every lane takes the next tile when free
  guided,        ///< "guided": shared queue, nodes take chunks that shrink as work runs out
  automatic,  ///< "auto": weighted start from the model, a dynamic tail, unprofitable nodes dropped
};

std::string_view to_string(Policy policy);
/// Parses a policy name; throws UsageError listing the known names.
Policy parse_policy(std::string_view text);
std::vector<std::string_view> policy_names();

}  // namespace hetero

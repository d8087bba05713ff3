// The transfer-aware planner.
#include "planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace hetero::detail {
namespace {

// A node's predicted time is slope * share + fixed (fixed only when it takes part).
struct Line {
  double slope = 0, fixed = 0, transfer_slope = 0, transfer_fixed = 0;
};

Line line_of(const NodeCost& node, double units) {
  const double per_byte = node.bytes_per_s > 0 ? 1.0 / node.bytes_per_s : 0;
  Line line;
  line.transfer_slope =
      units * (node.bytes_per_unit * per_byte + node.copies_per_unit * node.latency_s);
  line.slope = units * node.seconds_per_unit + line.transfer_slope;
  // Taking part costs at least one copy: the arrays read whole, or else a tile's first slice
  // (so a sliver of a share never looks free; the slope then counts one latency too many).
  if (node.fixed_bytes > 0) {
    line.transfer_fixed = node.fixed_bytes * per_byte + node.latency_s;
  } else if (node.copies_per_unit > 0) {
    line.transfer_fixed = node.latency_s;
  }
  line.fixed = node.ready_s + line.transfer_fixed;
  return line;
}

// The equal-finish makespan of the nodes in `subset` (bit i: node i); infinity when one of
// them would get a negative share.
double makespan_of(const std::vector<Line>& lines, unsigned subset) {
  double inverse = 0, weighted = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if ((subset >> i & 1U) == 0) continue;
    inverse += 1.0 / lines[i].slope;
    weighted += lines[i].fixed / lines[i].slope;
  }
  const double makespan = (1.0 + weighted) / inverse;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if ((subset >> i & 1U) != 0 && lines[i].fixed > makespan) {
      return std::numeric_limits<double>::infinity();
    }
  }
  return makespan;
}

// Whether two nodes of `subset` occupy one resource.
bool shares_a_resource(const std::vector<NodeCost>& nodes, unsigned subset) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if ((subset >> i & 1U) == 0 || nodes[i].resource.empty()) continue;
    for (std::size_t j = i + 1; j < nodes.size(); ++j) {
      if ((subset >> j & 1U) != 0 && nodes[j].resource == nodes[i].resource) return true;
    }
  }
  return false;
}

// The node of `chosen` on the resource of node `i`; nodes.size() when none is.
std::size_t holder_of_resource(const std::vector<NodeCost>& nodes, unsigned chosen, std::size_t i) {
  for (std::size_t j = 0; j < nodes.size(); ++j) {
    if ((chosen >> j & 1U) != 0 && !nodes[i].resource.empty() &&
        nodes[j].resource == nodes[i].resource) {
      return j;
    }
  }
  return nodes.size();
}

}  // namespace

Forecast forecast(const std::vector<NodeCost>& nodes, double units) {
  std::vector<Line> lines;
  unsigned usable = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    lines.push_back(line_of(nodes[i], units));
    if (nodes[i].active && lines.back().slope > 0 && i < 16) usable |= 1U << i;
  }
  Forecast result;
  result.shares.assign(nodes.size(), 0);
  result.finish_s.assign(nodes.size(), 0);
  result.transfer_s.assign(nodes.size(), 0);
  if (usable == 0) return result;

  // Every subset of the usable nodes: at most 2^16, and in practice a handful of nodes.
  double best = std::numeric_limits<double>::infinity();
  unsigned chosen = 0;
  std::vector<double> best_with(nodes.size(), std::numeric_limits<double>::infinity());
  for (unsigned subset = usable;; subset = (subset - 1) & usable) {
    if (subset == 0) break;
    if (shares_a_resource(nodes, subset)) continue;
    const double makespan = makespan_of(lines, subset);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if ((subset >> i & 1U) != 0) best_with[i] = std::min(best_with[i], makespan);
    }
    if (makespan < best) {
      best = makespan;
      chosen = subset;
    }
  }
  result.makespan_s = best;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if ((chosen >> i & 1U) == 0) {
      if (nodes[i].active) {
        const std::size_t holder = holder_of_resource(nodes, chosen, i);
        result.notes.push_back(fmt::format(
            "the planner left out {}: predicted {:.4f} s with it, {:.4f} s without it{}",
            nodes[i].name, best_with[i], best,
            holder < nodes.size() ? fmt::format(" (it shares {} with {}, which the plan gives it)",
                                                nodes[i].resource, nodes[holder].name)
                                  : std::string()));
      }
      continue;
    }
    const double share = (best - lines[i].fixed) / lines[i].slope;
    result.shares[i] = share;
    result.finish_s[i] = best;
    result.transfer_s[i] = lines[i].transfer_fixed + share * lines[i].transfer_slope;
  }
  return result;
}

std::vector<NodeCost> launch_costs(const backend::Launch& launch, const std::vector<Tile>& tiles,
                                   const std::vector<NodeInfo>& infos,
                                   const std::vector<const void*>& spaces,
                                   const std::vector<double>& rates,
                                   const std::vector<bool>& active) {
  double units = 0;
  for (const Tile& tile : tiles) units += static_cast<double>(launch.work_units(tile));
  units = std::max(units, 1.0);

  // The slowest link back from a device: what a host node pays for blocks only a device holds.
  double slowest_bytes_per_s = 0, slowest_latency_s = 0;
  for (const NodeInfo& info : infos) {
    if (info.link.zero_copy || info.link.to_host_bytes_per_s <= 0) continue;
    if (slowest_bytes_per_s == 0 || info.link.to_host_bytes_per_s < slowest_bytes_per_s) {
      slowest_bytes_per_s = info.link.to_host_bytes_per_s;
      slowest_latency_s = info.link.to_host_latency_s;
    }
  }

  std::vector<NodeCost> costs;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    NodeCost cost;
    cost.name = infos[i].name;
    cost.resource = infos[i].resource;
    cost.active = active[i] && rates[i] > 0;
    cost.seconds_per_unit = rates[i] > 0 ? 1.0 / rates[i] : 0;
    const bool device = !infos[i].link.zero_copy;
    cost.bytes_per_s = device ? infos[i].link.to_device_bytes_per_s : slowest_bytes_per_s;
    cost.latency_s = device ? infos[i].link.to_device_latency_s : slowest_latency_s;
    double slice_bytes = 0, copies = 0;
    for (const backend::ArgumentBinding& argument : launch.arguments) {
      if (!argument.is_array) continue;
      if (argument.array) {
        // Registered: what its space (or the host) does not hold valid now.
        const backend::ArrayRecord& array = *argument.array;
        const void* where = device ? spaces[i] : backend::ArrayRecord::kHost;
        const auto lacking = [&](backend::BlockRun run) {
          return static_cast<double>(array.payload_of(run) - array.resident_bytes(where, run));
        };
        if (argument.access == Access::read_whole) {
          cost.fixed_bytes += lacking(array.all_blocks());
          continue;
        }
        for (const Tile& tile : tiles) {
          for (const backend::BlockRun run :
               backend::blocks_to_read(argument, launch.range(tile))) {
            const double bytes = lacking(run);
            slice_bytes += bytes;
            copies += bytes > 0 ? 1 : 0;
          }
        }
        continue;
      }
      if (!device) continue;  // plain host arrays are where host nodes compute
      if (argument.access == Access::read_whole) {
        cost.fixed_bytes += static_cast<double>(argument.bytes());
        continue;
      }
      for (const Tile& tile : tiles) {
        for (const bool to_device : {true, false}) {
          for (const backend::SliceCopy& copy :
               backend::tile_copies(argument, launch.range(tile), to_device)) {
            slice_bytes += static_cast<double>(copy.range.bytes);
            copies += 1;
          }
        }
      }
    }
    cost.bytes_per_unit = slice_bytes / units;
    cost.copies_per_unit = copies / units;
    costs.push_back(cost);
  }
  return costs;
}

std::vector<std::string> explain(const Forecast& forecast, const std::vector<NodeCost>& nodes) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (forecast.shares[i] <= 0) continue;
    lines.push_back(fmt::format(
        "plan: {} takes {:.1f}% of the work: {:.4f} s moving data, {:.4f} s computing, "
        "finishing at {:.4f} s",
        nodes[i].name, forecast.shares[i] * 100, forecast.transfer_s[i],
        forecast.finish_s[i] - forecast.transfer_s[i] - nodes[i].ready_s, forecast.finish_s[i]));
  }
  return lines;
}

}  // namespace hetero::detail

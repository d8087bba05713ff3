// The transfer-aware planner: each node's predicted finish for a share of a run is its ready
// time, plus moving the data it lacks (bytes over its link's bandwidth, plus a latency per
// copy), plus computing its work units at its learned rate. The shares that minimise the
// predicted makespan decide which nodes run and how much; a node is left out only when the
// predicted makespan without it is no longer.
#pragma once

#include <string>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/node.hpp"

namespace hetero::detail {

/// What one node's part of a run costs, as the planner sees it.
struct NodeCost {
  std::string name;
  bool active = true;
  double seconds_per_unit = 0;  ///< computing: 1 / its rate in work units per second
  double bytes_per_unit = 0;    ///< data it lacks per work unit of its share (slices)
  double fixed_bytes = 0;       ///< data it lacks whatever its share (arrays read whole)
  double copies_per_unit = 0;   ///< copies per work unit, each paying the link's latency
  double bytes_per_s = 0;       ///< its link's bandwidth; 0: it shares the host's memory
  double latency_s = 0;
  double ready_s = 0;  ///< when it can start
  /// Hardware it occupies: of nodes with one non-empty resource, a plan keeps at most one.
  std::string resource;
};

/// The planner's answer: a share of the work per node (0: left out), and its predictions.
struct Forecast {
  std::vector<double> shares;
  std::vector<double> finish_s;    ///< predicted finish per node; 0 when left out
  std::vector<double> transfer_s;  ///< of which moving data
  double makespan_s = 0;
  std::vector<std::string> notes;  ///< which nodes were left out, with both predictions
};

/// The shares of `units` work units over `nodes` that minimise the predicted makespan (every
/// subset of the active nodes with at most one node per resource is tried; within one, shares
/// equalise the finish times).
Forecast forecast(const std::vector<NodeCost>& nodes, double units);

/// The cost of `launch` on each node: compute from `rates` (work units per second, 0 unknown),
/// data from the links of `infos` and what each node's memory (`spaces`, nullptr for the host)
/// already holds of the launch's registered arrays. Plain host arrays are all lacking on a
/// device node; a host node lacks the blocks only a device holds, priced by the slowest link.
std::vector<NodeCost> launch_costs(const backend::Launch& launch, const std::vector<Tile>& tiles,
                                   const std::vector<NodeInfo>& infos,
                                   const std::vector<const void*>& spaces,
                                   const std::vector<double>& rates,
                                   const std::vector<bool>& active);

/// One line per node: predicted share, transfer, compute and finish.
std::vector<std::string> explain(const Forecast& forecast, const std::vector<NodeCost>& nodes);

}  // namespace hetero::detail

// The dispatcher's engine: rounds of tiles handed out to nodes under a policy, each node on a
// proxy thread of its own, a failed node's unfinished tiles re-run on the others. What a round
// runs on a node (a job, a user's kernel) is the caller's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hetero/backend/dispatcher.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/trace.hpp"

namespace hetero::detail {

/// Node `node`'s part of a round: computes every tile `work` gives it, recording on `trace`.
using NodeTask = std::function<void(std::size_t node, WorkSource& work, NodeTrace& trace)>;

/// The nodes of a run as the rounds see them.
struct RoundsInput {
  std::vector<NodeInfo> infos;
  std::vector<int> lanes;         ///< each node's lanes (at least 1)
  std::vector<double> weights;    ///< weighted and auto: shares by throughput; all 0: equal
  bool static_by_weight = false;  ///< static: contiguous parts by `weights`, not by lanes
  std::vector<bool> active;       ///< nodes that take part (auto may have dropped some)
  std::vector<Tile> tiles;
  std::vector<bool> done;  ///< tiles already computed (a resumed run); empty: none
  /// Per tile index: its predicted work, for progress; empty: not known.
  std::vector<double> tile_work;
  /// Per tile index: the node that holds most of its data, which takes it first under dynamic;
  /// -1: none does. Empty: no tile has a preference.
  std::vector<int> preferred;
  /// Called once per tile, on the node's thread, when its results are first in place.
  std::function<void(const Tile&)> on_completed;
};

/// What the rounds did.
struct Execution {
  Trace trace;  ///< every event, but compute events only of the node that completed the tile
  std::vector<std::string> failures;  ///< per node: why it failed; empty if it did not
  std::vector<bool> active;           ///< nodes still healthy at the end (and not dropped)
  std::vector<std::string> notes;     ///< failures and where their tiles went
  std::int64_t tiles_rerun = 0;
};

/// Runs every tile of `input` on its active nodes under `options.policy`, each node's part on
/// a proxy thread of its own. A node that fails loses no work: its unfinished tiles are re-run
/// on the healthy ones from a shared queue. Throws Cancelled when `options.stop` ends the run
/// early, Error when every node failed.
Execution execute_rounds(const RoundsInput& input, const RunOptions& options, Progress* progress,
                         const NodeTask& task);

}  // namespace hetero::detail

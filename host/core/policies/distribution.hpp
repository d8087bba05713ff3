// Policies as types: how one round of a run hands its tiles to its nodes. Each policy is a
// TileDistribution of its own (one file each); distribute() makes the one a Policy names.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "hetero/job.hpp"
#include "hetero/policy.hpp"

namespace hetero::detail {

/// What a round distributes: its tiles, and the nodes that take them.
struct RoundShape {
  std::vector<Tile> tiles;
  std::vector<int> lanes;        ///< per node, at least 1
  std::vector<double> shares;    ///< per node: its share by throughput; 0 for inactive nodes
  std::vector<bool> active;      ///< nodes that take part
  int total_lanes = 1;           ///< lanes of the active nodes
  bool static_by_share = false;  ///< static: parts in proportion to `shares`, not to lanes
  /// Per tile index: the node that holds most of the tile's data; -1: none. Empty: none does.
  std::vector<int> preferred;
};

/// Builds a round's shape: the active nodes' shares are their weights, or equal when no
/// weight is known.
RoundShape shape_round(std::vector<Tile> tiles, const std::vector<int>& lanes,
                       const std::vector<double>& weights, const std::vector<bool>& active,
                       std::vector<int> preferred = {});

/// How the tiles of one round reach its nodes. Thread-safe: every node's proxy calls it.
class TileDistribution {
 public:
  virtual ~TileDistribution() = default;
  /// True when nodes pull tiles one at a time with next(); false when each node's tiles are
  /// fixed up front and given by assigned().
  virtual bool self_scheduling() const = 0;
  /// Node `node`'s fixed tiles; empty under a self-scheduling policy.
  virtual std::span<const Tile> assigned(std::size_t /*node*/) const { return {}; }
  /// The next tile for node `node`; nullopt when none is left for it.
  virtual std::optional<Tile> next(std::size_t node) = 0;
};

/// "static": contiguous blocks, each node's share proportional to its lanes.
std::unique_ptr<TileDistribution> static_split(const RoundShape& shape);
/// "weighted": fixed tiles spread over the image in proportion to the nodes' shares.
std::unique_ptr<TileDistribution> weighted(const RoundShape& shape);
/// "dynamic": one shared queue; each lane takes the next tile when it is free. Where tiles have
/// a preferred node (its data is there), that node takes them first, then the tiles no node
/// holds, then the rest of the others' from their ends.
std::unique_ptr<TileDistribution> dynamic(const RoundShape& shape);
/// "guided": a shared queue taken in chunks of about remaining / (2 lanes) tiles.
std::unique_ptr<TileDistribution> guided(const RoundShape& shape);
/// "auto": four tiles in five assigned by share up front, the fifth a shared tail.
std::unique_ptr<TileDistribution> automatic(const RoundShape& shape);

/// The distribution `policy` names.
std::unique_ptr<TileDistribution> distribute(Policy policy, const RoundShape& shape);

}  // namespace hetero::detail

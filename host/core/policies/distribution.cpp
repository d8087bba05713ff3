// A round's shape, and the distribution each Policy names.
#include "distribution.hpp"

#include <algorithm>

namespace hetero::detail {

RoundShape shape_round(std::vector<Tile> tiles, const std::vector<int>& lanes,
                       const std::vector<double>& weights, const std::vector<bool>& active,
                       std::vector<int> preferred) {
  RoundShape shape;
  shape.tiles = std::move(tiles);
  shape.preferred = std::move(preferred);
  shape.lanes = lanes;
  shape.active = active;
  shape.shares.assign(lanes.size(), 0.0);
  shape.total_lanes = 0;
  double known = 0;
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    if (!active[i]) continue;
    shape.total_lanes += lanes[i];
    known += std::max(0.0, weights[i]);
  }
  shape.total_lanes = std::max(1, shape.total_lanes);
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    if (active[i]) shape.shares[i] = known > 0 ? std::max(0.0, weights[i]) : 1.0;
  }
  return shape;
}

std::unique_ptr<TileDistribution> distribute(Policy policy, const RoundShape& shape) {
  switch (policy) {
    case Policy::static_split:
      return static_split(shape);
    case Policy::weighted:
      return weighted(shape);
    case Policy::dynamic:
      return dynamic(shape);
    case Policy::guided:
      return guided(shape);
    case Policy::automatic:
      return automatic(shape);
  }
  return dynamic(shape);
}

}  // namespace hetero::detail

// "weighted": fixed tiles spread over the image in proportion to the nodes' shares.
#include "fixed.hpp"
#include "hetero/backend/dispatcher.hpp"

namespace hetero::detail {

std::unique_ptr<TileDistribution> weighted(const RoundShape& shape) {
  return std::make_unique<FixedTiles>(spread_by_weight(shape.tiles, shape.shares));
}

}  // namespace hetero::detail

// "static": contiguous blocks of tiles, each node's share proportional to its lanes.
#include "fixed.hpp"

namespace hetero::detail {

std::unique_ptr<TileDistribution> static_split(const RoundShape& shape) {
  std::vector<std::vector<Tile>> own(shape.lanes.size());
  std::size_t first = 0;
  long lanes_before = 0;
  for (std::size_t i = 0; i < shape.lanes.size(); ++i) {
    if (!shape.active[i]) continue;
    lanes_before += shape.lanes[i];
    const auto last = static_cast<std::size_t>(static_cast<long double>(shape.tiles.size()) *
                                               lanes_before / shape.total_lanes);
    own[i].assign(shape.tiles.begin() + static_cast<std::ptrdiff_t>(first),
                  shape.tiles.begin() + static_cast<std::ptrdiff_t>(last));
    first = last;
  }
  return std::make_unique<FixedTiles>(std::move(own));
}

}  // namespace hetero::detail

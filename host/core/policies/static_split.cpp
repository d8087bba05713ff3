// "static": contiguous blocks of tiles, each node's share proportional to its lanes (or to
// the shares it was given).
#include <cmath>

#include "fixed.hpp"

namespace hetero::detail {

std::unique_ptr<TileDistribution> static_split(const RoundShape& shape) {
  long double shared = 0;
  for (std::size_t i = 0; i < shape.lanes.size(); ++i) {
    shared += shape.active[i] ? shape.shares[i] : 0;
  }
  const bool by_share = shape.static_by_share && shared > 0;
  const auto part_of = [&](std::size_t i) -> long double {
    return by_share ? shape.shares[i] : shape.lanes[i];
  };
  long double total = 0;
  for (std::size_t i = 0; i < shape.lanes.size(); ++i) total += shape.active[i] ? part_of(i) : 0;
  std::vector<std::vector<Tile>> own(shape.lanes.size());
  std::size_t first = 0;
  long double before = 0;
  for (std::size_t i = 0; i < shape.lanes.size(); ++i) {
    if (!shape.active[i]) continue;
    before += part_of(i);
    const auto last = static_cast<std::size_t>(
        std::llround(static_cast<long double>(shape.tiles.size()) * before / total));
    own[i].assign(shape.tiles.begin() + static_cast<std::ptrdiff_t>(first),
                  shape.tiles.begin() + static_cast<std::ptrdiff_t>(last));
    first = last;
  }
  return std::make_unique<FixedTiles>(std::move(own));
}

}  // namespace hetero::detail

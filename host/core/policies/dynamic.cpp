// "dynamic": one shared queue; each lane takes the next tile when it is free. Tiles whose data
// a node holds go to that node first (owner computes).
#include <algorithm>
#include <deque>
#include <mutex>

#include "distribution.hpp"
#include "queue.hpp"

namespace hetero::detail {
namespace {

class Dynamic final : public TileDistribution {
 public:
  explicit Dynamic(std::vector<Tile> tiles) : queue_(std::move(tiles)) {}
  bool self_scheduling() const override { return true; }
  std::optional<Tile> next(std::size_t /*node*/) override { return queue_.take(); }

 private:
  SharedQueue queue_;
};

// Each node's preferred tiles in order, then the tiles no node holds, then the others'
// preferred tiles taken from the end (where their owner would reach them last).
class OwnerFirst final : public TileDistribution {
 public:
  explicit OwnerFirst(const RoundShape& shape) : owned_(shape.lanes.size()) {
    for (const Tile& tile : shape.tiles) {
      const auto index = static_cast<std::size_t>(tile.index);
      const int node = index < shape.preferred.size() ? shape.preferred[index] : -1;
      const bool owned = node >= 0 && static_cast<std::size_t>(node) < owned_.size() &&
                         shape.active[static_cast<std::size_t>(node)];
      (owned ? owned_[static_cast<std::size_t>(node)] : unowned_).push_back(tile);
    }
  }
  bool self_scheduling() const override { return true; }
  std::optional<Tile> next(std::size_t node) override {
    std::lock_guard lock(mutex_);
    if (std::deque<Tile>& mine = owned_[node]; !mine.empty()) return pop(mine, /*front=*/true);
    if (!unowned_.empty()) return pop(unowned_, /*front=*/true);
    const auto fullest =
        std::max_element(owned_.begin(), owned_.end(),
                         [](const auto& a, const auto& b) { return a.size() < b.size(); });
    if (fullest == owned_.end() || fullest->empty()) return std::nullopt;
    return pop(*fullest, /*front=*/false);
  }

 private:
  static Tile pop(std::deque<Tile>& tiles, bool front) {
    const Tile tile = front ? tiles.front() : tiles.back();
    front ? tiles.pop_front() : tiles.pop_back();
    return tile;
  }

  std::mutex mutex_;
  std::vector<std::deque<Tile>> owned_;
  std::deque<Tile> unowned_;
};

}  // namespace

std::unique_ptr<TileDistribution> dynamic(const RoundShape& shape) {
  const bool owners = std::any_of(shape.preferred.begin(), shape.preferred.end(),
                                  [](int node) { return node >= 0; });
  if (owners) return std::make_unique<OwnerFirst>(shape);
  return std::make_unique<Dynamic>(shape.tiles);
}

}  // namespace hetero::detail

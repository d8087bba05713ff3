// "auto": four tiles in five assigned up front in proportion to the nodes' shares (spread over
// the image), the fifth a shared tail that evens out what the shares got wrong.
#include "distribution.hpp"
#include "hetero/backend/dispatcher.hpp"
#include "queue.hpp"

namespace hetero::detail {
namespace {

constexpr int kTailEvery = 5;

class Automatic final : public TileDistribution {
 public:
  Automatic(std::vector<std::vector<Tile>> own, std::vector<Tile> tail)
      : own_(std::move(own)), own_next_(own_.size()), tail_(std::move(tail)) {}
  bool self_scheduling() const override { return true; }
  std::optional<Tile> next(std::size_t node) override {
    const std::vector<Tile>& own = own_[node];
    const std::size_t i = own_next_[node].fetch_add(1, std::memory_order_relaxed);
    if (i < own.size()) return own[i];
    return tail_.take();
  }

 private:
  std::vector<std::vector<Tile>> own_;
  std::vector<std::atomic<std::size_t>> own_next_;
  SharedQueue tail_;
};

}  // namespace

std::unique_ptr<TileDistribution> automatic(const RoundShape& shape) {
  std::vector<Tile> head, tail;
  for (const Tile& tile : shape.tiles) {
    (tile.index % kTailEvery == kTailEvery - 1 ? tail : head).push_back(tile);
  }
  return std::make_unique<Automatic>(spread_by_weight(head, shape.shares), std::move(tail));
}

}  // namespace hetero::detail

// "dynamic": one shared queue; each lane takes the next tile when it is free.
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

}  // namespace

std::unique_ptr<TileDistribution> dynamic(const RoundShape& shape) {
  return std::make_unique<Dynamic>(shape.tiles);
}

}  // namespace hetero::detail

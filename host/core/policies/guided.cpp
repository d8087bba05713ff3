// "guided": a shared queue that each node takes in chunks of about remaining / (2 lanes) tiles,
// so chunks shrink as the work runs out.
#include <mutex>

#include "distribution.hpp"
#include "queue.hpp"

namespace hetero::detail {
namespace {

class Guided final : public TileDistribution {
 public:
  Guided(std::vector<Tile> tiles, std::size_t nodes, int total_lanes)
      : queue_(std::move(tiles)), chunks_(nodes), total_lanes_(total_lanes) {}
  bool self_scheduling() const override { return true; }
  std::optional<Tile> next(std::size_t node) override {
    Chunk& chunk = chunks_[node];
    std::lock_guard lock(chunk.mutex);
    if (chunk.begin == chunk.end) {
      const auto lanes = static_cast<std::size_t>(total_lanes_);
      std::tie(chunk.begin, chunk.end) =
          queue_.take_chunk([&](std::size_t remaining) { return remaining / (2 * lanes); });
    }
    if (chunk.begin == chunk.end) return std::nullopt;
    return queue_.tiles()[chunk.begin++];
  }

 private:
  struct Chunk {
    std::mutex mutex;  // a node's lanes share its chunk
    std::size_t begin = 0, end = 0;
  };
  SharedQueue queue_;
  std::vector<Chunk> chunks_;
  int total_lanes_;
};

}  // namespace

std::unique_ptr<TileDistribution> guided(const RoundShape& shape) {
  return std::make_unique<Guided>(shape.tiles, shape.lanes.size(), shape.total_lanes);
}

}  // namespace hetero::detail

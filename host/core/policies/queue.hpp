// A shared queue of tiles that every node of a round pulls from (dynamic, guided, auto's tail).
#pragma once

#include <atomic>
#include <optional>
#include <utility>
#include <vector>

#include "hetero/job.hpp"

namespace hetero::detail {

class SharedQueue {
 public:
  explicit SharedQueue(std::vector<Tile> tiles) : tiles_(std::move(tiles)) {}
  /// The next tile; nullopt once every tile was taken.
  std::optional<Tile> take() {
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= tiles_.size()) return std::nullopt;
    return tiles_[i];
  }
  /// The next `chunk(remaining)` tiles as a range of tiles(); empty once every tile was taken.
  template <class ChunkSize>
  std::pair<std::size_t, std::size_t> take_chunk(ChunkSize chunk) {
    std::size_t begin = next_.load(std::memory_order_relaxed);
    for (;;) {
      if (begin >= tiles_.size()) return {0, 0};
      const std::size_t size = std::max<std::size_t>(1, chunk(tiles_.size() - begin));
      if (next_.compare_exchange_weak(begin, begin + size)) {
        return {begin, std::min(tiles_.size(), begin + size)};
      }
    }
  }
  const std::vector<Tile>& tiles() const { return tiles_; }

 private:
  std::vector<Tile> tiles_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace hetero::detail

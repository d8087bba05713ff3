// PieceFeed: the tiles of a device node, in pieces.
#include "nodes/tile_pieces.hpp"

#include <algorithm>
#include <limits>

namespace hetero::nodes {

std::optional<Tile> PieceFeed::next_tile() {
  if (work_.self_scheduling()) return work_.next();
  if (work_.stop_requested() || next_assigned_ >= assigned_.size()) return std::nullopt;
  return assigned_[next_assigned_++];
}

std::int64_t PieceFeed::peek(std::int64_t max_pixels) {
  if (current_ && work_.stop_requested()) return 0;
  while (!current_ || offset_ == current_->end) {
    current_ = next_tile();
    if (!current_) return 0;
    offset_ = current_->begin;
  }
  return std::min(std::max<std::int64_t>(1, max_pixels), current_->end - offset_);
}

Piece PieceFeed::take(std::int64_t pixels) {
  Piece piece;
  piece.tile = *current_;
  piece.begin = offset_;
  piece.end = offset_ + std::min(std::max<std::int64_t>(1, pixels), current_->end - offset_);
  offset_ = piece.end;
  return piece;
}

std::int64_t piece_budget(const MemorySpace& space, std::uint64_t held, int slots,
                          std::size_t bytes_per_pixel) {
  constexpr auto kNoBound = std::numeric_limits<std::int64_t>::max();
  const std::uint64_t cap = space.limit();
  if (cap == MemorySpace::kUnlimited) return kNoBound;
  const std::uint64_t in_use = space.bytes_in_use();
  const std::uint64_t others = in_use - std::min(held, in_use);
  if (others >= cap) return 1;
  const std::uint64_t per_slot = (cap - others) / static_cast<std::uint64_t>(std::max(1, slots));
  const std::uint64_t pixels = per_slot / std::max<std::size_t>(1, bytes_per_pixel);
  return static_cast<std::int64_t>(
      std::clamp<std::uint64_t>(pixels, 1, static_cast<std::uint64_t>(kNoBound)));
}

}  // namespace hetero::nodes

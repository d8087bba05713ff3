// PieceFeed: the tiles of a device node, in pieces.
#include "nodes/tile_pieces.hpp"

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

}  // namespace hetero::nodes

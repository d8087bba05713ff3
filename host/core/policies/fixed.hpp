// Policies whose tiles are fixed per node up front (static, weighted): a list for each node.
#pragma once

#include <vector>

#include "distribution.hpp"

namespace hetero::detail {

class FixedTiles final : public TileDistribution {
 public:
  explicit FixedTiles(std::vector<std::vector<Tile>> own) : own_(std::move(own)) {}
  bool self_scheduling() const override { return false; }
  std::span<const Tile> assigned(std::size_t node) const override { return own_[node]; }
  std::optional<Tile> next(std::size_t /*node*/) override { return std::nullopt; }

 private:
  std::vector<std::vector<Tile>> own_;
};

}  // namespace hetero::detail

// Tile pieces: how a device node walks the tiles it is given in pieces its memory can hold.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"
#include "hetero/job.hpp"
#include "hetero/backend/node.hpp"

namespace hetero::nodes {

/// The smallest piece a device node cuts a tile into when its memory is short (16 KiB of counts).
inline constexpr std::size_t kMinPiecePixels = 4096;

/// Pixels [begin, end) of `tile`. The tile is complete once its last piece is.
struct Piece {
  Tile tile;
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
  bool last() const { return end == tile.end; }
  /// The piece as a Tile (the tile's index, the piece's pixels), as the trace records it.
  Tile part() const { return Tile{tile.index, begin, end}; }
};

/// The tiles a WorkSource gives one device node, handed out in order as pieces of at most a
/// given size. Once a stop is asked no further piece is handed out, even of a tile begun.
class PieceFeed {
 public:
  explicit PieceFeed(WorkSource& work) : work_(work), assigned_(work.assigned()) {}

  /// Pixels of the next piece were it allowed up to `max_pixels` (at least 1); 0 when no work
  /// is left. Takes the next tile from the source when the current one is handed out.
  std::int64_t peek(std::int64_t max_pixels);
  /// Hands out the next piece: min(pixels, what is left of the current tile) pixels, at least
  /// 1. Only after a peek() that returned more than 0.
  Piece take(std::int64_t pixels);

 private:
  std::optional<Tile> next_tile();

  WorkSource& work_;
  std::span<const Tile> assigned_;
  std::size_t next_assigned_ = 0;
  std::optional<Tile> current_;
  std::int64_t offset_ = 0;  // first pixel of current_ not yet handed out
};

/// The most pixels a piece may have so that `slots` buffers of `bytes_per_pixel` bytes a pixel
/// fit the space's cap beside everything else it holds, at least 1 (no bound for a space without
/// a cap). `held` is what those buffers hold now: they are freed before they grow. Splitting the
/// cap up front keeps one slot from taking the room every other slot needs.
std::int64_t piece_budget(const MemorySpace& space, std::uint64_t held, int slots,
                          std::size_t bytes_per_pixel);

/// Makes room for `wanted` elements through `allocate(n)`, which replaces a buffer with one of n
/// elements or throws OutOfMemory. On OutOfMemory the request halves, down to `minimum`
/// elements (or `wanted` if smaller), below which the error propagates. Returns the elements
/// the buffer holds.
template <class Allocate>
std::size_t fit_in_memory(std::size_t wanted, std::size_t minimum, Allocate&& allocate) {
  const std::size_t floor = std::max<std::size_t>(1, std::min(minimum, wanted));
  std::size_t size = wanted;
  for (;;) {
    try {
      allocate(size);
      return size;
    } catch (const OutOfMemory&) {
      if (size <= floor) throw;
      size = std::max(floor, size / 2);
    }
  }
}

}  // namespace hetero::nodes

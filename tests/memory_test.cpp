// The device memory cap: parsing --device-memory, capped memory spaces, and how device nodes
// cut tiles into pieces (PieceFeed, fit_in_memory).
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/parse.hpp"
#include "hetero/hetero.hpp"
#include "nodes/tile_pieces.hpp"

namespace hetero {
namespace {

TEST(MemoryCap, ParsesPercentagesAndBinaryByteCounts) {
  struct Case {
    const char* text;
    double fraction;
    std::uint64_t bytes;
  };
  const std::vector<Case> cases = {
      {"90%", 0.9, 0},           {"100%", 1.0, 0},          {"0.5%", 0.005, 0},
      {"100", 0.9, 100},         {"1048576", 0.9, 1 << 20}, {"64K", 0.9, 64 << 10},
      {"64k", 0.9, 64 << 10},    {"64KiB", 0.9, 64 << 10},  {"512M", 0.9, 512 << 20},
      {"1.5G", 0.9, 3ULL << 29}, {"2GiB", 0.9, 2ULL << 30}, {"1T", 0.9, 1ULL << 40},
      {"100B", 0.9, 100},        {"+8M", 0.9, 8 << 20},
  };
  for (const Case& c : cases) {
    const MemoryCap cap = parse_memory_cap("--device-memory", c.text);
    EXPECT_DOUBLE_EQ(cap.fraction, c.fraction) << c.text;
    EXPECT_EQ(cap.bytes, c.bytes) << c.text;
  }
}

TEST(MemoryCap, RejectsAnythingElseInOneLineNamingTheOption) {
  for (const char* text : {"",       "0",    "-1",   "0.5",  "lots",      "5X",  "M",     "%",
                           "0%",     "-5%",  "101%", "nan%", "4.9e-324%", "inf", "1e300", "2048T",
                           "12..5M", "90 %", "1 G",  "0x10", "50",        "1",   "99.5"}) {
    try {
      parse_memory_cap("--device-memory", text);
      ADD_FAILURE() << "'" << text << "' was accepted";
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("--device-memory: ", 0), 0U) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(MemoryCap, IsTheBytesGivenOrAShareOfTheFreeMemory) {
  EXPECT_EQ(MemoryCap{}.of(1000), 900U) << "the default is 90% of free memory";
  EXPECT_EQ((MemoryCap{0.5, 0}).of(1001), 500U);
  EXPECT_EQ((MemoryCap{0.5, 4096}).of(1001), 4096U) << "bytes, when given, win";
}

// Host memory behind a capped space, to test the cap without a device.
class CappedSpace final : public MemorySpace {
 public:
  std::string_view name() const override { return "test space"; }
  void* allocate(std::size_t bytes) override {
    claim(bytes);
    return std::malloc(bytes);
  }
  void deallocate(void* pointer, std::size_t bytes) noexcept override {
    std::free(pointer);
    release(bytes);
  }
  void copy_from_host(void*, const void*, std::size_t) override {}
  void copy_to_host(void*, const void*, std::size_t) override {}
};

TEST(MemoryCap, SpaceRefusesAllocationsPastItsCapNamingTheBytes) {
  CappedSpace space;
  EXPECT_EQ(space.limit(), MemorySpace::kUnlimited);
  EXPECT_EQ(HostSpace::instance().limit(), MemorySpace::kUnlimited);
  space.set_limit(1000);
  std::optional<Buffer<char>> first(std::in_place, space, 600);
  try {
    Buffer<char> second(space, 500);
    ADD_FAILURE() << "600 + 500 bytes fit a 1000-byte cap";
  } catch (const OutOfMemory& e) {
    EXPECT_EQ(e.requested(), 500U);
    const std::string message = e.what();
    EXPECT_NE(message.find("test space: cannot allocate 500 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("600 of its 1000-byte"), std::string::npos) << message;
    EXPECT_NE(message.find("--device-memory"), std::string::npos) << message;
  }
  EXPECT_EQ(space.bytes_in_use(), 600U) << "a refused allocation is not counted";
  Buffer<char> fits(space, 400);
  EXPECT_EQ(space.bytes_in_use(), 1000U);
  EXPECT_THROW(Buffer<char>(space, 1), OutOfMemory);
  first.reset();
  Buffer<char> after_free(space, 500);
  EXPECT_EQ(space.bytes_in_use(), 900U);
  EXPECT_EQ(space.peak_bytes(), 1000U);
}

// Tiles from a list, handed out as a fixed assignment or one at a time.
class ListWork final : public WorkSource {
 public:
  ListWork(std::vector<Tile> tiles, bool self_scheduling)
      : tiles_(std::move(tiles)), self_scheduling_(self_scheduling) {}
  bool self_scheduling() const override { return self_scheduling_; }
  std::span<const Tile> assigned() const override {
    return self_scheduling_ ? std::span<const Tile>() : std::span<const Tile>(tiles_);
  }
  std::optional<Tile> next() override {
    if (stop || next_ == tiles_.size()) return std::nullopt;
    return tiles_[next_++];
  }
  bool stop_requested() const override { return stop; }
  void completed(const Tile&) override {}

  bool stop = false;

 private:
  std::vector<Tile> tiles_;
  bool self_scheduling_;
  std::size_t next_ = 0;
};

TEST(PieceFeed, CutsEachTileIntoContiguousPiecesOfAtMostTheLimit) {
  const std::vector<Tile> tiles = make_tiles(45, 20);  // [0,20) [20,40) [40,45)
  for (const bool self_scheduling : {false, true}) {
    ListWork work(tiles, self_scheduling);
    nodes::PieceFeed feed(work);
    std::vector<nodes::Piece> pieces;
    std::int64_t limit = 7;
    while (const std::int64_t wanted = feed.peek(limit)) {
      EXPECT_LE(wanted, limit);
      pieces.push_back(feed.take(wanted));
      if (pieces.size() == 4) limit = 3;  // memory got shorter mid-tile
    }
    // 7 7 6 | 7 3 3 3 3 1 | 3 2
    std::vector<std::int64_t> sizes;
    std::int64_t next_pixel = 0;
    for (const nodes::Piece& piece : pieces) {
      sizes.push_back(piece.size());
      EXPECT_EQ(piece.begin, next_pixel) << "pieces follow one another";
      EXPECT_GE(piece.begin, piece.tile.begin);
      EXPECT_LE(piece.end, piece.tile.end);
      EXPECT_EQ(piece.last(), piece.end == piece.tile.end);
      EXPECT_EQ(piece.part().index, piece.tile.index);
      next_pixel = piece.end;
    }
    EXPECT_EQ(next_pixel, 45);
    EXPECT_EQ(sizes, (std::vector<std::int64_t>{7, 7, 6, 7, 3, 3, 3, 3, 1, 3, 2}))
        << "self-scheduling " << self_scheduling;
  }
}

TEST(PieceFeed, HandsOutNoFurtherPieceOnceAStopIsAsked) {
  for (const bool self_scheduling : {false, true}) {
    ListWork work(make_tiles(100, 50), self_scheduling);
    nodes::PieceFeed feed(work);
    ASSERT_EQ(feed.peek(10), 10);
    feed.take(10);
    work.stop = true;
    EXPECT_EQ(feed.peek(10), 0) << "self-scheduling " << self_scheduling;
  }
}

TEST(PieceBudget, SplitsWhatTheCapLeavesBetweenTheSlots) {
  CappedSpace space;
  EXPECT_EQ(nodes::piece_budget(space, 0, 2, 4), std::numeric_limits<std::int64_t>::max())
      << "no cap, no bound";
  space.set_limit(10000);
  Buffer<char> axes(space, 2000);
  EXPECT_EQ(nodes::piece_budget(space, 0, 2, 4), 1000) << "(10000 - 2000) / 2 slots / 4 bytes";
  EXPECT_EQ(nodes::piece_budget(space, 0, 1, 4), 2000);
  // Buffers the slots hold are freed before they grow: they count as room.
  Buffer<char> slot_buffer(space, 4000);
  EXPECT_EQ(nodes::piece_budget(space, 4000, 2, 4), 1000);
  EXPECT_EQ(nodes::piece_budget(space, 0, 2, 4), 500);
  Buffer<char> rest(space, 4000);
  EXPECT_EQ(nodes::piece_budget(space, 0, 2, 4), 1) << "a full space still allows 1 pixel";
}

TEST(FitInMemory, HalvesTheRequestUntilItFitsButNotBelowTheMinimum) {
  std::vector<std::size_t> tried;
  const auto allocate_up_to = [&](std::size_t capacity) {
    return [&tried, capacity](std::size_t n) {
      tried.push_back(n);
      if (n > capacity) throw OutOfMemory("short", n);
    };
  };
  EXPECT_EQ(nodes::fit_in_memory(1000, 10, allocate_up_to(100)), 62U);
  EXPECT_EQ(tried, (std::vector<std::size_t>{1000, 500, 250, 125, 62}));
  tried.clear();
  EXPECT_EQ(nodes::fit_in_memory(1000, 10, allocate_up_to(5000)), 1000U);
  EXPECT_EQ(tried.size(), 1U);
  tried.clear();
  EXPECT_THROW(nodes::fit_in_memory(1000, 100, allocate_up_to(50)), OutOfMemory);
  EXPECT_EQ(tried.back(), 100U) << "the minimum is tried last";
  tried.clear();
  EXPECT_EQ(nodes::fit_in_memory(8, 100, allocate_up_to(50)), 8U)
      << "a request below the minimum is tried as it is";
  tried.clear();
  EXPECT_THROW(nodes::fit_in_memory(8, 100, allocate_up_to(4)), OutOfMemory);
  EXPECT_EQ(tried, (std::vector<std::size_t>{8}));
}

TEST(FitInMemory, OtherErrorsAreNotTakenForShortMemory) {
  int calls = 0;
  EXPECT_THROW(nodes::fit_in_memory(1000, 10,
                                    [&](std::size_t) {
                                      ++calls;
                                      throw Error("device lost");
                                    }),
               Error);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace hetero

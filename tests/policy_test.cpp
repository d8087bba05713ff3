// Each policy's distribution of a round's tiles, drained by hand: every tile reaches exactly one
// active node, and each policy shapes the hand-out the way its name promises.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/policies/distribution.hpp"
#include "hetero/hetero.hpp"

namespace hetero::detail {
namespace {

// Every node's tiles: its assigned ones, or what it pulls in turn (round robin over the active
// nodes: the rounds start no proxy for the others) until none is left for anyone.
std::vector<std::vector<Tile>> drain(TileDistribution& distribution,
                                     const std::vector<bool>& active) {
  const std::size_t nodes = active.size();
  std::vector<std::vector<Tile>> got(nodes);
  if (!distribution.self_scheduling()) {
    for (std::size_t i = 0; i < nodes; ++i) {
      const auto assigned = distribution.assigned(i);
      got[i].assign(assigned.begin(), assigned.end());
      EXPECT_FALSE(distribution.next(i)) << "fixed tiles are never pulled";
    }
    return got;
  }
  for (bool any = true; any;) {
    any = false;
    for (std::size_t i = 0; i < nodes; ++i) {
      if (!active[i]) continue;
      if (const auto tile = distribution.next(i)) {
        got[i].push_back(*tile);
        any = true;
      }
    }
  }
  return got;
}

RoundShape three_nodes_middle_inactive() {
  return shape_round(make_tiles(1000, 10), {2, 4, 6}, {1.0, 5.0, 3.0}, {true, false, true});
}

TEST(Distribution, EveryPolicyHandsEachTileToExactlyOneActiveNode) {
  for (const std::string_view name : policy_names()) {
    SCOPED_TRACE(name);
    const RoundShape shape = three_nodes_middle_inactive();
    const auto distribution = distribute(parse_policy(name), shape);
    const auto got = drain(*distribution, shape.active);
    EXPECT_TRUE(got[1].empty()) << "an inactive node gets nothing";
    std::multiset<std::int64_t> seen;
    for (const auto& tiles : got) {
      for (const Tile& tile : tiles) seen.insert(tile.index);
    }
    ASSERT_EQ(seen.size(), shape.tiles.size());
    for (const Tile& tile : shape.tiles) EXPECT_EQ(seen.count(tile.index), 1U) << tile.index;
  }
}

TEST(Distribution, StaticGivesContiguousBlocksInProportionToLanes) {
  const auto distribution = static_split(three_nodes_middle_inactive());
  EXPECT_FALSE(distribution->self_scheduling());
  const auto first = distribution->assigned(0), last = distribution->assigned(2);
  ASSERT_EQ(first.size(), 25U) << "2 of the 8 active lanes";
  ASSERT_EQ(last.size(), 75U);
  EXPECT_EQ(first.front().index, 0);
  EXPECT_EQ(first.back().index + 1, last.front().index);
  EXPECT_EQ(last.back().index, 99);
}

TEST(Distribution, WeightedFollowsTheSharesAndEqualSharesWhenNoneIsKnown) {
  const auto by_weight = weighted(three_nodes_middle_inactive());
  EXPECT_EQ(by_weight->assigned(0).size(), 25U) << "weight 1 of 4";
  EXPECT_EQ(by_weight->assigned(2).size(), 75U);
  const auto unknown =
      weighted(shape_round(make_tiles(1000, 10), {1, 1}, {0.0, 0.0}, {true, true}));
  EXPECT_EQ(unknown->assigned(0).size(), 50U);
  EXPECT_EQ(unknown->assigned(1).size(), 50U);
}

TEST(Distribution, GuidedChunksShrinkAsTheQueueEmpties) {
  // One node with 2 lanes: each chunk is a quarter of what is left, at least 1.
  const auto distribution = guided(shape_round(make_tiles(1000, 10), {2}, {0.0}, {true}));
  std::vector<std::int64_t> chunk_starts;
  std::int64_t expected_next = 0;
  std::size_t chunk = 0, remaining = 100, taken = 0;
  while (const auto tile = distribution->next(0)) {
    EXPECT_EQ(tile->index, expected_next++);
    if (taken == chunk) {
      chunk = std::max<std::size_t>(1, remaining / 4);
      chunk_starts.push_back(tile->index);
      taken = 0;
    }
    ++taken;
    --remaining;
  }
  EXPECT_EQ(expected_next, 100);
  ASSERT_GE(chunk_starts.size(), 4U);
  EXPECT_EQ(chunk_starts[1], 25) << "the first chunk: 100 / 4";
  EXPECT_EQ(chunk_starts[2], 43) << "then 75 / 4";
}

TEST(Distribution, DynamicGivesANodeTheTilesItHoldsFirstThenFreeOnesThenStealsFromTheEnd) {
  // Ten tiles: node 0 holds 0-2, node 1 holds 5-8, nobody 3, 4, 9.
  const std::vector<int> preferred{0, 0, 0, -1, -1, 1, 1, 1, 1, -1};
  const auto distribution =
      dynamic(shape_round(make_tiles(100, 10), {1, 1}, {0.0, 0.0}, {true, true}, preferred));
  const auto take = [&](std::size_t node) { return distribution->next(node)->index; };
  EXPECT_EQ(take(0), 0);
  EXPECT_EQ(take(1), 5);
  EXPECT_EQ(take(0), 1);
  EXPECT_EQ(take(0), 2);
  EXPECT_EQ(take(0), 3) << "its own done: the tiles nobody holds, in order";
  EXPECT_EQ(take(0), 4);
  EXPECT_EQ(take(0), 9);
  EXPECT_EQ(take(0), 8) << "then node 1's, from the end";
  EXPECT_EQ(take(1), 6);
  EXPECT_EQ(take(1), 7);
  EXPECT_FALSE(distribution->next(0));
  EXPECT_FALSE(distribution->next(1));
}

TEST(Distribution, AutoAssignsFourInFiveAndSharesEveryFifthAsATail) {
  const auto distribution = automatic(three_nodes_middle_inactive());
  EXPECT_TRUE(distribution->self_scheduling());
  // Node 2 alone drains its own tiles first, then the whole tail.
  std::vector<std::int64_t> order;
  while (const auto tile = distribution->next(2)) order.push_back(tile->index);
  ASSERT_EQ(order.size(), 60U + 20U) << "75% of the 80 head tiles, and the 20 tail tiles";
  for (std::size_t i = 0; i < 60; ++i) EXPECT_NE(order[i] % 5, 4) << "head first";
  for (std::size_t i = 60; i < order.size(); ++i) EXPECT_EQ(order[i] % 5, 4) << "then the tail";
  EXPECT_EQ(drain(*distribution, {true, false, true})[0].size(), 20U)
      << "node 0 still has its own 25% of the head";
}

}  // namespace
}  // namespace hetero::detail

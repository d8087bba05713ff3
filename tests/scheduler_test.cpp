// When runs start (detail::RunScheduler): after the earlier runs they share written data with,
// on free nodes, first come first served; runs on disjoint data and nodes at the same time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/run_scheduler.hpp"
#include "hetero/kernel.hpp"
#include "test_support.hpp"

namespace hetero::detail {
namespace {

// A footprint of one use of `bytes` bytes at `address` (addresses are only compared).
Footprint uses(std::uintptr_t address, std::uintptr_t bytes, bool writes) {
  Footprint footprint;
  footprint.uses.push_back({address, address + bytes, writes});
  return footprint;
}

std::vector<bool> only(std::size_t node, std::size_t count = 2) {
  std::vector<bool> nodes(count, false);
  nodes[node] = true;
  return nodes;
}

TEST(Footprint, ConflictsOnlyWhereBytesOverlapAndOneWrites) {
  EXPECT_TRUE(uses(100, 50, true).conflicts_with(uses(140, 10, false)));
  EXPECT_TRUE(uses(100, 50, false).conflicts_with(uses(149, 1, true)));
  EXPECT_FALSE(uses(100, 50, true).conflicts_with(uses(150, 10, true)));  // adjacent
  EXPECT_FALSE(uses(100, 50, false).conflicts_with(uses(100, 50, false)));
}

TEST(Footprint, OfALaunchHoldsItsArraysAndItsReductionsResult) {
  const auto kernel =
      make_kernel("sum", [](Tile1D, View<const float>, View<float>, Reducer<double>) {});
  std::vector<float> in(100), out(100);
  double total = 0;
  backend::Launch launch;
  launch.arguments = decltype(kernel)::bind(read_slice(in), write(out), reduce(total));
  const Footprint footprint = footprint_of(launch);
  ASSERT_EQ(footprint.uses.size(), 3U);
  EXPECT_FALSE(footprint.conflicts_with(uses(reinterpret_cast<std::uintptr_t>(&in[50]), 4, false)));
  EXPECT_TRUE(footprint.conflicts_with(uses(reinterpret_cast<std::uintptr_t>(&in[50]), 4, true)));
  EXPECT_TRUE(footprint.conflicts_with(uses(reinterpret_cast<std::uintptr_t>(&out[99]), 4, false)));
  EXPECT_TRUE(footprint.conflicts_with(uses(reinterpret_cast<std::uintptr_t>(&total), 8, false)));
}

TEST(NodeMask, NamesEveryNodeWhenEmptyAndRefusesAnIndexOutOfRange) {
  EXPECT_EQ(node_mask({}, 3), std::vector<bool>({true, true, true}));
  const std::vector<std::size_t> second = {1};
  EXPECT_EQ(node_mask(second, 3), std::vector<bool>({false, true, false}));
  const std::vector<std::size_t> fourth = {3};
  test::expect_one_line_error([&] { static_cast<void>(node_mask(fourth, 3)); },
                              {"names node 3", "3 nodes (0 to 2)", "Runtime::nodes()"});
}

TEST(RunScheduler, ARunWaitsForTheEarlierRunThatWritesWhatItReads) {
  RunScheduler scheduler(2);
  const auto writer = scheduler.enter(uses(0, 100, true), only(0));
  const auto reader = scheduler.enter(uses(50, 10, false), only(1));
  EXPECT_TRUE(scheduler.started(writer));
  EXPECT_FALSE(scheduler.started(reader));
  scheduler.finish(writer);
  EXPECT_TRUE(scheduler.started(reader));
  scheduler.finish(reader);
}

TEST(RunScheduler, AWriterWaitsForTheEarlierRunsThatReadWhatItWrites) {
  RunScheduler scheduler(3);
  const auto first = scheduler.enter(uses(0, 100, false), only(0, 3));
  const auto second = scheduler.enter(uses(0, 100, false), only(1, 3));
  const auto writer = scheduler.enter(uses(99, 1, true), only(2, 3));
  EXPECT_TRUE(scheduler.started(first));
  EXPECT_TRUE(scheduler.started(second));  // readers share
  EXPECT_FALSE(scheduler.started(writer));
  scheduler.finish(second);
  EXPECT_FALSE(scheduler.started(writer));
  scheduler.finish(first);
  EXPECT_TRUE(scheduler.started(writer));
  scheduler.finish(writer);
}

TEST(RunScheduler, RunsOnDisjointDataAndNodesStartTogetherAndRunsOnOneNodeInTurn) {
  RunScheduler scheduler(2);
  const auto a = scheduler.enter(uses(0, 100, true), only(0));
  const auto b = scheduler.enter(uses(100, 100, true), only(1));
  const auto c = scheduler.enter(uses(200, 100, true), only(1));
  EXPECT_TRUE(scheduler.started(a));
  EXPECT_TRUE(scheduler.started(b));
  EXPECT_FALSE(scheduler.started(c));  // its node is b's
  scheduler.finish(b);
  EXPECT_TRUE(scheduler.started(c));
  scheduler.finish(a);
  scheduler.finish(c);
}

TEST(RunScheduler, ARunOnEveryNodeIsNotOvertakenByLaterRunsOnSomeOfThem) {
  RunScheduler scheduler(2);
  const auto first = scheduler.enter({}, only(0));
  const auto everywhere = scheduler.enter({}, {true, true});
  const auto later = scheduler.enter({}, only(1));
  EXPECT_TRUE(scheduler.started(first));
  EXPECT_FALSE(scheduler.started(everywhere));
  EXPECT_FALSE(scheduler.started(later));  // node 1 is free, but the earlier run wants it
  scheduler.finish(first);
  EXPECT_TRUE(scheduler.started(everywhere));
  EXPECT_FALSE(scheduler.started(later));
  scheduler.finish(everywhere);
  EXPECT_TRUE(scheduler.started(later));
  scheduler.finish(later);
}

// Two bodies that each wait for the other to have started can only both end when they overlap.
TEST(RunScheduler, BodiesOnDisjointNodesRunAtTheSameTimeOnItsThreads) {
  std::atomic<int> arrived{0};
  std::atomic<int> met{0};
  const auto meet = [&] {
    ++arrived;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    if (arrived.load() == 2) ++met;
  };
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> on_caller{false};
  {
    RunScheduler scheduler(2);
    scheduler.enter(uses(0, 10, true), only(0), [&] {
      on_caller = on_caller || std::this_thread::get_id() == caller;
      meet();
    });
    scheduler.enter(uses(10, 10, true), only(1), meet);
  }  // the destructor waits for both
  EXPECT_EQ(met.load(), 2);
  EXPECT_FALSE(on_caller.load());
}

TEST(RunScheduler, BodiesThatConflictRunOneAfterTheOtherInTheOrderEntered) {
  std::vector<int> order;
  std::atomic<bool> overlapped{false};
  std::atomic<int> running{0};
  const auto body = [&](int id) {
    return [&, id] {
      if (++running > 1) overlapped = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      order.push_back(id);
      --running;
    };
  };
  {
    RunScheduler scheduler(3);
    for (int id = 0; id < 3; ++id) {
      scheduler.enter(uses(0, 10, true), only(static_cast<std::size_t>(id), 3), body(id));
    }
  }
  EXPECT_FALSE(overlapped.load());
  EXPECT_EQ(order, std::vector<int>({0, 1, 2}));
}

}  // namespace
}  // namespace hetero::detail

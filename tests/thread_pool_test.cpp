// The worker pool of the threads and simd nodes: every worker runs the body once a run, and a
// worker's error reaches the caller.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/thread_pool.hpp"

namespace hetero::detail {
namespace {

TEST(ThreadPool, EveryWorkerRunsTheBodyOnceARun) {
  ThreadPool pool(3);
  for (int run = 0; run < 4; ++run) {
    std::mutex mutex;
    std::multiset<int> seen;
    pool.run_on_all([&](int worker) {
      const std::lock_guard lock(mutex);
      seen.insert(worker);
    });
    EXPECT_EQ(seen, (std::multiset<int>{0, 1, 2})) << "run " << run;
  }
}

TEST(ThreadPool, AWorkersExceptionReachesTheCallerAndThePoolRunsOn) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.run_on_all([](int worker) {
    if (worker == 1) throw std::runtime_error("worker 1");
  }),
               std::runtime_error);
  int runs = 0;
  std::mutex mutex;
  pool.run_on_all([&](int) {
    const std::lock_guard lock(mutex);
    ++runs;
  });
  EXPECT_EQ(runs, 2);
}

TEST(ThreadPool, ThreadsStartWhenARunNeedsThemAndOneWorkerIsTheCaller) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.started(), 0);
  std::mutex mutex;
  std::map<int, std::thread::id> threads;
  const auto record = [&](int worker) {
    const std::lock_guard lock(mutex);
    threads[worker] = std::this_thread::get_id();
  };
  pool.run(1, record);
  EXPECT_EQ(pool.started(), 0);
  EXPECT_EQ(threads, (std::map<int, std::thread::id>{{0, std::this_thread::get_id()}}));
  threads.clear();
  pool.run(2, record);
  EXPECT_EQ(pool.started(), 2);
  ASSERT_EQ(threads.size(), 2U);
  EXPECT_NE(threads[0], std::this_thread::get_id());
  EXPECT_NE(threads[0], threads[1]);
  threads.clear();
  pool.run(9, record);  // clamped to the pool's three
  EXPECT_EQ(pool.started(), 3);
  EXPECT_EQ(threads.size(), 3U);
}

}  // namespace
}  // namespace hetero::detail

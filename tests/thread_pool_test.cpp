// The worker pool of the threads and simd nodes: every worker runs the body once a run, and a
// worker's error reaches the caller.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <stdexcept>

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

}  // namespace
}  // namespace hetero::detail

// A pool of worker threads that run one body on several workers at once.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hetero::detail {

/// Threads start on the first run that needs them, as many as it needs: a pool that never runs,
/// or runs one worker at a time, costs no thread.
class ThreadPool {
 public:
  explicit ThreadPool(int workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// The most workers a run can have.
  int size() const { return workers_; }
  /// Threads started so far.
  int started() const;
  /// Runs body(worker) for every worker in [0, workers) concurrently, workers clamped to
  /// [1, size()], and returns when all are done; rethrows the first exception a worker threw.
  /// One worker runs on the calling thread: handing it to another would only add a wake-up.
  /// Not reentrant: one body at a time.
  void run(int workers, const std::function<void(int)>& body);
  /// run() on every worker.
  void run_on_all(const std::function<void(int)>& body) { run(size(), body); }

 private:
  void start_threads(int count);
  void worker_loop(int worker);

  const int workers_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::condition_variable start_, finished_;
  const std::function<void(int)>* body_ = nullptr;
  unsigned long generation_ = 0;
  int active_ = 0;   // workers [0, active_) take part in the current run
  int running_ = 0;  // of those, the ones not finished yet
  bool shutdown_ = false;
  std::exception_ptr error_;
};

}  // namespace hetero::detail

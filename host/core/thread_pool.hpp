// A fixed pool of worker threads that run one body on every worker at once.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hetero::detail {

class ThreadPool {
 public:
  explicit ThreadPool(int workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }
  /// Runs body(worker) on every worker concurrently and returns when all are done; rethrows
  /// the first exception a worker threw. Not reentrant: one body at a time.
  void run_on_all(const std::function<void(int)>& body);

 private:
  void worker_loop(int worker);

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_, finished_;
  const std::function<void(int)>* body_ = nullptr;
  unsigned long generation_ = 0;
  int running_ = 0;
  bool shutdown_ = false;
  std::exception_ptr error_;
};

}  // namespace hetero::detail

// The worker pool behind the threads and simd nodes.
#include "thread_pool.hpp"

#include <algorithm>
#include <utility>

namespace hetero::detail {

ThreadPool::ThreadPool(int workers) : workers_(std::max(1, workers)) {}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
  }
  start_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

int ThreadPool::started() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(threads_.size());
}

void ThreadPool::start_threads(int count) {
  // Only the caller of run() adds threads, between runs, so threads_ is not read meanwhile
  // except by started(), which takes the lock.
  std::lock_guard lock(mutex_);
  threads_.reserve(static_cast<std::size_t>(count));
  for (int i = static_cast<int>(threads_.size()); i < count; ++i) {
    threads_.emplace_back([this, i] { worker_loop(i); });
  }
}

void ThreadPool::run(int workers, const std::function<void(int)>& body) {
  workers = std::clamp(workers, 1, workers_);
  if (workers == 1) {
    body(0);
    return;
  }
  if (static_cast<int>(threads_.size()) < workers) start_threads(workers);
  std::unique_lock lock(mutex_);
  body_ = &body;
  error_ = nullptr;
  active_ = workers;
  running_ = workers;
  ++generation_;
  start_.notify_all();
  finished_.wait(lock, [this] { return running_ == 0; });
  body_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::worker_loop(int worker) {
  unsigned long seen = 0;
  for (;;) {
    const std::function<void(int)>* body = nullptr;
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return shutdown_ || (generation_ != seen && worker < active_); });
      if (shutdown_) return;
      seen = generation_;
      body = body_;
    }
    std::exception_ptr error;
    try {
      (*body)(worker);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    if (error && !error_) error_ = error;
    if (--running_ == 0) finished_.notify_all();
  }
}

}  // namespace hetero::detail

// The progress bar.
#include "progress.hpp"

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include <fmt/format.h>

namespace hetero::cli {

ProgressBar::ProgressBar(Progress& progress, bool enabled) : progress_(progress) {
  if (enabled && isatty(STDERR_FILENO) == 1) {
    progress.weigh_work = true;
    thread_ = std::thread([this] { loop(); });
  }
}

ProgressBar::~ProgressBar() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
  if (drawn_) fmt::print(stderr, "\r\033[2K");
}

void ProgressBar::loop() {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  while (!done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (elapsed < 1.0 || done_) continue;
    const auto total = progress_.tiles_total.load();
    const auto finished = progress_.tiles_done.load();
    const double fraction = progress_.fraction();
    constexpr int kWidth = 40;
    const int filled = static_cast<int>(fraction * kWidth);
    fmt::print(stderr, "\r[{:#<{}}{:<{}}] {:5.1f}%  {}/{} tiles  {:.1f} s", "", filled, "",
               kWidth - filled, fraction * 100, finished, total, elapsed);
    std::fflush(stderr);
    drawn_ = true;
  }
}

PointProgress::PointProgress(std::string command, std::size_t points, bool enabled)
    : command_(std::move(command)), points_(points) {
  if (enabled && isatty(STDERR_FILENO) == 1) thread_ = std::thread([this] { loop(); });
}

PointProgress::~PointProgress() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    erase_locked();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PointProgress::begin(std::string what) {
  std::lock_guard lock(mutex_);
  what_ = std::move(what);
  running_ = true;
  point_start_ = Clock::now();
  if (thread_.joinable()) draw_locked();
}

void PointProgress::end() {
  std::lock_guard lock(mutex_);
  if (!running_) return;
  running_ = false;
  ++done_;
  done_seconds_ += std::chrono::duration<double>(Clock::now() - point_start_).count();
  erase_locked();
}

void PointProgress::add_points(std::ptrdiff_t count) {
  std::lock_guard lock(mutex_);
  points_ = static_cast<std::size_t>(std::max<std::ptrdiff_t>(
      static_cast<std::ptrdiff_t>(done_), static_cast<std::ptrdiff_t>(points_) + count));
}

void PointProgress::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (running_ && !stopping_) draw_locked();
  }
}

void PointProgress::draw_locked() {
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string left = "estimating the time left";
  if (done_ > 0) {
    const double mean = done_seconds_ / static_cast<double>(done_);
    const double in_point = std::chrono::duration<double>(now - point_start_).count();
    const double remaining = std::max(0.0, mean - in_point) +
                             mean * static_cast<double>(points_ - std::min(points_, done_ + 1));
    left = fmt::format("about {:.0f} s left", remaining);
  }
  fmt::print(stderr, "\r\033[2K{}: [{}/{}] {}; {:.1f} s elapsed, {}", command_, done_ + 1, points_,
             what_, elapsed, left);
  std::fflush(stderr);
  drawn_ = true;
}

void PointProgress::erase_locked() {
  if (!drawn_) return;
  fmt::print(stderr, "\r\033[2K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace hetero::cli

// The progress bar.
#include "progress.hpp"

#include <unistd.h>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

namespace hetero::cli {

ProgressBar::ProgressBar(const Progress& progress, bool enabled) : progress_(progress) {
  if (enabled && isatty(STDERR_FILENO) == 1) thread_ = std::thread([this] { loop(); });
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
    const double fraction =
        total > 0 ? static_cast<double>(finished) / static_cast<double>(total) : 0;
    constexpr int kWidth = 40;
    const int filled = static_cast<int>(fraction * kWidth);
    fmt::print(stderr, "\r[{:#<{}}{:<{}}] {:5.1f}%  {}/{} tiles  {:.1f} s", "", filled, "",
               kWidth - filled, fraction * 100, finished, total, elapsed);
    std::fflush(stderr);
    drawn_ = true;
  }
}

}  // namespace hetero::cli

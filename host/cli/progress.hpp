// A progress bar on stderr for runs that last over a second, when stderr is a terminal.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

#include "hetero/run.hpp"

namespace hetero::cli {

class ProgressBar {
 public:
  /// Watches `progress`; draws nothing unless `enabled`, stderr is a terminal and a second passed.
  /// When it may draw, it asks the run to weigh its tiles by their work (Progress::weigh_work).
  ProgressBar(Progress& progress, bool enabled);
  ~ProgressBar();  // stops and erases the bar
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

 private:
  void loop();

  const Progress& progress_;
  std::atomic<bool> done_{false};
  std::thread thread_;
  bool drawn_ = false;
};

/// A status line on stderr for commands that measure one point after another (compare, scale),
/// when stderr is a terminal: what runs, n of m, the time elapsed, and the time left estimated
/// from the points done so far (their mean, times the points left). Redrawn as time passes.
class PointProgress {
 public:
  /// `points`: how many there will be; draws nothing unless `enabled` and stderr is a terminal.
  PointProgress(std::string command, std::size_t points, bool enabled);
  ~PointProgress();  // erases the line
  PointProgress(const PointProgress&) = delete;
  PointProgress& operator=(const PointProgress&) = delete;

  /// The next point begins; `what` names it.
  void begin(std::string what);
  /// The point ended: the line is erased, so that its results can be printed.
  void end();
  /// `count` more points than said (negative: fewer, as when one is skipped).
  void add_points(std::ptrdiff_t count);

 private:
  using Clock = std::chrono::steady_clock;
  void loop();
  void draw_locked();
  void erase_locked();

  const std::string command_;
  std::size_t points_;
  const Clock::time_point start_ = Clock::now();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string what_;
  std::size_t done_ = 0;
  bool running_ = false;
  bool drawn_ = false;
  bool stopping_ = false;
  Clock::time_point point_start_;
  double done_seconds_ = 0;  // of the points done
  std::thread thread_;
};

}  // namespace hetero::cli

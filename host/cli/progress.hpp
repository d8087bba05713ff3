// A progress bar on stderr for runs that last over a second, when stderr is a terminal.
#pragma once

#include <atomic>
#include <thread>

#include "hetero/run.hpp"

namespace hetero::cli {

class ProgressBar {
 public:
  /// Watches `progress`; draws nothing unless `enabled`, stderr is a terminal and a second passed.
  ProgressBar(const Progress& progress, bool enabled);
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

}  // namespace hetero::cli

// Scaling arithmetic: timing summaries, speed-up laws (Amdahl, Gustafson, Karp-Flatt).
#pragma once

#include <limits>
#include <vector>

namespace hetero {

/// Repeated timings of one configuration.
struct TimingSummary {
  double min_s = 0, median_s = 0, max_s = 0;
  double mean_s = 0, stddev_s = 0;  ///< the sample standard deviation; 0 for one run
  std::vector<double> runs_s;       ///< every run's time, in the order they ran
  bool noisy = false;               ///< (max - min) / median above the threshold
};

/// Summarises `seconds` (at least one value); noisy when the spread exceeds `noise_threshold`.
TimingSummary summarize(std::vector<double> seconds, double noise_threshold = 0.10);

/// Karp-Flatt experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p), for p > 1.
double karp_flatt(double speedup, int workers);

/// Amdahl's law fitted to strong-scaling points: T(p)/T(1) = f + (1 - f)/p, least squares on f.
struct AmdahlFit {
  double serial_fraction = 0;
  /// The speed-up limit 1/f as p grows (infinity when f is 0).
  double limit = std::numeric_limits<double>::infinity();
  /// Predicted speed-up at `workers`.
  double speedup(int workers) const {
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / workers);
  }
};
/// `workers[i]` ran in `seconds[i]`; `seconds_one` is the time at one worker.
AmdahlFit fit_amdahl(const std::vector<int>& workers, const std::vector<double>& seconds,
                     double seconds_one);

}  // namespace hetero

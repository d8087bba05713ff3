// Timing summaries and the scaling laws.
#include <algorithm>
#include <cmath>

#include "hetero/error.hpp"
#include "hetero/scaling.hpp"

namespace hetero {

TimingSummary summarize(std::vector<double> seconds, double noise_threshold) {
  if (seconds.empty()) throw Error("summarize: no timings");
  TimingSummary summary;
  summary.runs_s = seconds;
  const std::size_t n = seconds.size();
  double sum = 0;
  for (const double s : seconds) sum += s;
  summary.mean_s = sum / static_cast<double>(n);
  if (n > 1) {
    double squares = 0;
    for (const double s : seconds) squares += (s - summary.mean_s) * (s - summary.mean_s);
    summary.stddev_s = std::sqrt(squares / static_cast<double>(n - 1));
  }
  std::sort(seconds.begin(), seconds.end());
  summary.min_s = seconds.front();
  summary.max_s = seconds.back();
  summary.median_s = n % 2 == 1 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
  summary.noisy =
      summary.median_s > 0 && (summary.max_s - summary.min_s) / summary.median_s > noise_threshold;
  return summary;
}

double karp_flatt(double speedup, int workers) {
  if (workers <= 1 || speedup <= 0) return 0;
  const double p = workers;
  return (1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p);
}

AmdahlFit fit_amdahl(const std::vector<int>& workers, const std::vector<double>& seconds,
                     double seconds_one) {
  // y = T(p)/T(1) - 1/p = f * (1 - 1/p): least squares through the origin.
  double xy = 0, xx = 0;
  for (std::size_t i = 0; i < workers.size() && i < seconds.size(); ++i) {
    if (workers[i] <= 1 || seconds_one <= 0) continue;
    const double inverse = 1.0 / workers[i];
    const double x = 1.0 - inverse;
    const double y = seconds[i] / seconds_one - inverse;
    xy += x * y;
    xx += x * x;
  }
  AmdahlFit fit;
  fit.serial_fraction = xx > 0 ? std::clamp(xy / xx, 0.0, 1.0) : 0.0;
  fit.limit =
      fit.serial_fraction > 0 ? 1.0 / fit.serial_fraction : std::numeric_limits<double>::infinity();
  return fit;
}

}  // namespace hetero

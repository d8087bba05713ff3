// The triad workload: a = b + s * c over large arrays (STREAM's triad). It is bandwidth-bound:
// a device node computes it fast but must first receive b and c over its link, so it shows when
// offloading does not pay, and how that changes once the arrays are already on the device.
#pragma once

#include <cstdint>
#include <vector>

#include "hetero/report.hpp"
#include "hetero/runtime.hpp"

namespace hetero {

struct TriadSpec {
  std::int64_t elements = std::int64_t{1} << 24;
  std::int64_t runs = 5;  ///< runs over the same (registered) arrays
  static constexpr std::int64_t kMaxRuns = 100'000;
};

/// Checks a spec before any work: at least one element, the three arrays within the host's
/// available memory, 1 to kMaxRuns runs. Throws UsageError (one line) naming the option.
void validate(const TriadSpec& spec);

/// a[i] = b[i] + s * c[i]; host and OpenCL implementations, exact. Parameters: b, c, a, s.
const Kernel<Tile1D, View<const float>, View<const float>, View<float>, float>& triad_kernel();

inline constexpr float kTriadScalar = 3.0F;

struct TriadResult {
  std::vector<Report> runs;  ///< each run's report; under auto, the later ones are planned
  Checksum checksum;         ///< of a after the last run
};

/// Runs the triad `spec.runs` times over registered arrays b[i] = i % 1000, c[i] = i % 7: the
/// first run moves them where its nodes need them, the later ones find them there.
TriadResult run_triad(Runtime& runtime, const TriadSpec& spec,
                      LaunchOptions options = {.policy = Policy::automatic});

}  // namespace hetero

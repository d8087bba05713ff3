// Highway 1.0's library measures its nanobenchmark timer when it loads: a static initializer
// calls hwy::platform::TimerResolution, through its PLT, which takes about 4 ms (thousands of
// timer reads), the larger part of the simd node's start-up, for a figure hetero never uses.
// Defined in hetero-simd.so, whose dlopen scope lists the module before libhwy, this is the
// definition that call binds to when the module makes libhwy load: the same figure, ticks
// between back-to-back reads of the timestamp counter with Highway's fences, over fewer
// samples. Where libhwy was loaded first (by the program), or with HETERO_MODULES off (nothing
// pulls this file from the static library), Highway's own runs.
#include <hwy/nanobenchmark.h>

#if defined(__x86_64__)
#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace hwy::platform {

uint64_t TimerResolution() {
  constexpr int kSamples = 256;
  std::uint64_t fewest = std::numeric_limits<std::uint64_t>::max();
  for (int i = 0; i < kSamples; ++i) {
    _mm_lfence();
    const std::uint64_t start = __rdtsc();
    _mm_lfence();
    unsigned processor = 0;
    const std::uint64_t stop = __rdtscp(&processor);
    _mm_lfence();
    fewest = std::min(fewest, stop - start);
  }
  return fewest;
}

}  // namespace hwy::platform
#endif

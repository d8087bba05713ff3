// Device timestamps of an OpenCL queue mapped to the trace clock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "hetero/trace.hpp"
#include "runtime.hpp"

namespace hetero::nodes::opencl {

// Maps device timestamps to the trace clock: trace_ns = device_ns + offset, clamped to the run.
class DeviceClock {
 public:
  /// Estimates the offset from small blocking reads of `buffer` (at least 4 bytes) bracketed by
  /// host clock readings, the tightest of three. Reads rather than markers: every driver profiles
  /// copies, not every one profiles markers. Mapped times never fall before `floor_ns`.
  DeviceClock(cl_command_queue queue, cl_mem buffer, const TraceLane& lane, std::int64_t floor_ns)
      : floor_ns_(floor_ns) {
    std::int64_t best_width = std::numeric_limits<std::int64_t>::max();
    std::uint32_t scratch = 0;
    for (int i = 0; i < 3; ++i) {
      Event read;
      const std::int64_t before = lane.now_ns();
      check(clEnqueueReadBuffer(queue, buffer, CL_TRUE, 0, sizeof(scratch), &scratch, 0, nullptr,
                                read.out()),
            "read of the clock probe");
      const std::int64_t after = lane.now_ns();
      const auto [start, end] = opencl::profiled_interval(read.get());
      if (after - before < best_width) {
        best_width = after - before;
        offset_ns_ = before + (after - before) / 2 - (start + (end - start) / 2);
      }
    }
  }

  /// The trace interval of a finished command; never before the run started nor after `now_ns`.
  std::pair<std::int64_t, std::int64_t> map(cl_event event, std::int64_t now_ns) const {
    const auto [start, end] = opencl::profiled_interval(event);
    const std::int64_t begin = std::clamp(start + offset_ns_, floor_ns_, now_ns);
    return {begin, std::clamp(end + offset_ns_, begin, now_ns)};
  }

 private:
  std::int64_t floor_ns_;
  std::int64_t offset_ns_ = 0;
};

}  // namespace hetero::nodes::opencl

// The trace: every compute, copy and wait event per node and lane on one host clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <string>
#include <vector>

#include "hetero/job.hpp"

namespace hetero {

/// copy_peer: a copy between two memories of one node (an mpi node's ranks, rank to rank), which
/// does not cross the node's link to the host.
enum class EventKind : std::uint8_t { compute, copy_to_device, copy_to_host, wait, copy_peer };
std::string_view to_string(EventKind kind);

/// Why a copy crossed a link: a tile read what the node did not hold (read miss), the rows
/// around a tile's own that it reads too (halo), results going back (write-back), room made
/// in a full memory (eviction), or messages that carry no array data (control: a remote node's
/// tile orders and result headers).
enum class TransferCause : std::uint8_t { read_miss, halo, write_back, eviction, control };
std::string_view to_string(TransferCause cause);
/// A copy's cause when none is given: read miss towards the node, write-back from it.
constexpr TransferCause default_cause(EventKind direction) {
  return direction == EventKind::copy_to_host ? TransferCause::write_back
                                              : TransferCause::read_miss;
}

/// One interval on the trace clock (nanoseconds since the run started).
struct TraceEvent {
  EventKind kind = EventKind::compute;
  std::int32_t node = 0;  ///< index of the node in the run
  std::int32_t lane = 0;  ///< worker, stream or queue within the node
  std::int64_t begin_ns = 0;
  std::int64_t end_ns = 0;
  std::int64_t tile = -1;        ///< tile index, -1 when the event is not about one tile
  std::int64_t pixels = 0;       ///< compute: pixels of the tile
  std::uint64_t iterations = 0;  ///< compute: iterations performed
  std::uint64_t bytes = 0;       ///< copies: bytes moved
  std::string label;             ///< e.g. "axes", "counts", the link's name
  TransferCause cause = TransferCause::read_miss;  ///< copies: why
  std::int64_t first = 0;  ///< compute: the first element of the tile, or of the piece of it
  /// compute: `iterations` were counted by the node as the tile ran (a host node, or a device
  /// implementation that counts its work); otherwise the kernel's work() counts them once the
  /// run is done.
  bool counted = false;
};

/// Monotonic clock shared by every node of a run.
class TraceClock {
 public:
  TraceClock() : origin_(std::chrono::steady_clock::now()) {}
  std::int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                origin_)
        .count();
  }
  std::chrono::steady_clock::time_point origin() const { return origin_; }

 private:
  std::chrono::steady_clock::time_point origin_;
};

/// Events of one lane; written by one thread only, so recording takes no lock.
class TraceLane {
 public:
  TraceLane(const TraceClock* clock, std::int32_t node, std::int32_t lane)
      : clock_(clock), node_(node), lane_(lane) {}
  std::int64_t now_ns() const { return clock_->now_ns(); }
  /// `counted`: see TraceEvent::counted.
  void compute(const Tile& tile, std::int64_t begin_ns, std::int64_t end_ns,
               std::uint64_t iterations, bool counted = false);
  void copy(EventKind direction, std::string label, std::uint64_t bytes, std::int64_t begin_ns,
            std::int64_t end_ns, std::int64_t tile = -1);
  void copy(EventKind direction, TransferCause cause, std::string label, std::uint64_t bytes,
            std::int64_t begin_ns, std::int64_t end_ns, std::int64_t tile = -1);
  void wait(std::string label, std::int64_t begin_ns, std::int64_t end_ns);
  const std::vector<TraceEvent>& events() const { return events_; }
  std::int32_t lane() const { return lane_; }

 private:
  const TraceClock* clock_;
  std::int32_t node_, lane_;
  std::vector<TraceEvent> events_;
};

/// The lanes of one node. lane(i) may be called from any thread before the node starts work;
/// each lane is then written by its own thread.
class NodeTrace {
 public:
  NodeTrace(const TraceClock* clock, std::int32_t node) : clock_(clock), node_(node) {}
  /// Lane i, created on first use. Create every lane before workers start.
  TraceLane& lane(std::int32_t i);
  /// Makes sure lanes [0, n) exist.
  void reserve_lanes(std::int32_t n);
  std::int32_t lane_count() const { return static_cast<std::int32_t>(lanes_.size()); }
  const TraceLane& lane_at(std::int32_t i) const { return lanes_[static_cast<std::size_t>(i)]; }
  std::int64_t now_ns() const { return clock_->now_ns(); }

 private:
  const TraceClock* clock_;
  std::int32_t node_;
  std::deque<TraceLane> lanes_;  // deque: references stay valid as lanes are added
};

/// Every event of a run, merged and sorted by start time.
struct Trace {
  std::vector<std::string> node_names;
  std::vector<TraceEvent> events;
  std::int64_t wall_ns = 0;
};

/// Writes the trace in the Chrome trace event format (opens in Perfetto and chrome://tracing).
void write_chrome_trace(const Trace& trace, std::ostream& out);

}  // namespace hetero

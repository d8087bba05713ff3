// Trace recording and the Chrome trace event writer.
#include <ostream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hetero/trace.hpp"

namespace hetero {

std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::compute:
      return "compute";
    case EventKind::copy_to_device:
      return "copy_to_device";
    case EventKind::copy_to_host:
      return "copy_to_host";
    case EventKind::wait:
      return "wait";
    case EventKind::copy_peer:
      return "copy_peer";
  }
  return "unknown";
}

std::string_view to_string(TransferCause cause) {
  switch (cause) {
    case TransferCause::read_miss:
      return "read miss";
    case TransferCause::halo:
      return "halo";
    case TransferCause::write_back:
      return "write-back";
    case TransferCause::eviction:
      return "eviction";
    case TransferCause::control:
      return "control";
  }
  return "unknown";
}

void TraceLane::compute(const Tile& tile, std::int64_t begin_ns, std::int64_t end_ns,
                        std::uint64_t iterations, bool counted) {
  events_.push_back({EventKind::compute,
                     node_,
                     lane_,
                     begin_ns,
                     end_ns,
                     tile.index,
                     tile.size(),
                     iterations,
                     0,
                     {}});
  events_.back().first = tile.begin;
  events_.back().counted = counted;
}

void TraceLane::copy(EventKind direction, std::string label, std::uint64_t bytes,
                     std::int64_t begin_ns, std::int64_t end_ns, std::int64_t tile) {
  copy(direction, default_cause(direction), std::move(label), bytes, begin_ns, end_ns, tile);
}

void TraceLane::copy(EventKind direction, TransferCause cause, std::string label,
                     std::uint64_t bytes, std::int64_t begin_ns, std::int64_t end_ns,
                     std::int64_t tile) {
  events_.push_back(
      {direction, node_, lane_, begin_ns, end_ns, tile, 0, 0, bytes, std::move(label), cause});
}

void TraceLane::wait(std::string label, std::int64_t begin_ns, std::int64_t end_ns) {
  events_.push_back(
      {EventKind::wait, node_, lane_, begin_ns, end_ns, -1, 0, 0, 0, std::move(label)});
}

TraceLane& NodeTrace::lane(std::int32_t i) {
  reserve_lanes(i + 1);
  return lanes_[static_cast<std::size_t>(i)];
}

void NodeTrace::reserve_lanes(std::int32_t n) {
  while (static_cast<std::int32_t>(lanes_.size()) < n) {
    lanes_.emplace_back(clock_, node_, static_cast<std::int32_t>(lanes_.size()));
  }
}

void write_chrome_trace(const Trace& trace, std::ostream& out) {
  using nlohmann::json;
  json events = json::array();
  for (std::size_t node = 0; node < trace.node_names.size(); ++node) {
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", node},
                      {"args", {{"name", trace.node_names[node]}}}});
  }
  // Each lane named after its node, so that viewers show "threads lane 1", not a bare tid.
  std::set<std::pair<std::int32_t, std::int32_t>> lanes;
  for (const TraceEvent& event : trace.events) lanes.emplace(event.node, event.lane);
  for (const auto& [node, lane] : lanes) {
    const auto index = static_cast<std::size_t>(node);
    const std::string owner = index < trace.node_names.size() ? trace.node_names[index] : "node";
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", node},
                      {"tid", lane},
                      {"args", {{"name", fmt::format("{} lane {}", owner, lane)}}}});
  }
  for (const TraceEvent& event : trace.events) {
    json args = json::object();
    if (event.tile >= 0) args["tile"] = event.tile;
    if (event.kind == EventKind::compute) args["iterations"] = event.iterations;
    if (event.bytes != 0) args["bytes"] = event.bytes;
    if (!event.label.empty()) args["label"] = event.label;
    if (event.kind == EventKind::copy_to_device || event.kind == EventKind::copy_to_host ||
        event.kind == EventKind::copy_peer) {
      args["cause"] = to_string(event.cause);
    }
    std::string name = event.kind == EventKind::compute ? "tile " + std::to_string(event.tile)
                                                        : std::string(to_string(event.kind));
    events.push_back({{"name", std::move(name)},
                      {"cat", to_string(event.kind)},
                      {"ph", "X"},
                      {"pid", event.node},
                      {"tid", event.lane},
                      {"ts", static_cast<double>(event.begin_ns) / 1e3},
                      {"dur", static_cast<double>(event.end_ns - event.begin_ns) / 1e3},
                      {"args", std::move(args)}});
  }
  json document = {{"traceEvents", std::move(events)},
                   {"displayTimeUnit", "ms"},
                   {"otherData", {{"wall_ns", trace.wall_ns}}}};
  out << document.dump() << '\n';
}

}  // namespace hetero

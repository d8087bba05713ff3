// Reports: per-node figures from the trace, as JSON and as a table.
#include <algorithm>
#include <limits>
#include <ostream>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "core/json_values.hpp"
#include "hetero/report.hpp"
#include "hetero/version.hpp"

namespace hetero {

Report make_report(const Trace& trace, const std::vector<NodeInfo>& nodes,
                   const std::vector<int>& lanes, const JobSpec& job, Policy policy,
                   std::int64_t tile_pixels, std::int64_t tiles, const Checksum& checksum) {
  Report report;
  report.version = version_string;
  report.job = job;
  report.policy = policy;
  report.tile_pixels = tile_pixels;
  report.tiles = tiles;
  report.wall_s = static_cast<double>(trace.wall_ns) * 1e-9;
  report.checksum = checksum;

  // A device node's lanes share one device: its times are the union of their intervals.
  using Intervals = std::vector<std::pair<std::int64_t, std::int64_t>>;
  std::vector<Intervals> computing(nodes.size()), copying(nodes.size());
  const auto on_device = [&](std::size_t i) { return nodes[i].kind != NodeKind::host; };
  std::vector<std::int32_t> lanes_seen(nodes.size(), 0);
  std::vector<double> copy_s(nodes.size(), 0);
  std::vector<std::unordered_set<std::int64_t>> tiles_seen(nodes.size());
  for (const NodeInfo& info : nodes) {
    NodeReport node;
    node.name = info.name;
    node.device = info.device;
    node.kind = info.kind;
    report.nodes.push_back(node);
  }
  for (const TraceEvent& event : trace.events) {
    const auto i = static_cast<std::size_t>(event.node);
    if (i >= report.nodes.size()) continue;
    NodeReport& node = report.nodes[i];
    lanes_seen[i] = std::max(lanes_seen[i], event.lane + 1);
    const double seconds = static_cast<double>(event.end_ns - event.begin_ns) * 1e-9;
    switch (event.kind) {
      case EventKind::compute:
        // A tile computed in pieces has one event per piece, all with its index.
        if (tiles_seen[i].insert(event.tile).second) ++node.tiles;
        ++node.pieces;
        node.pixels += event.pixels;
        node.iterations += event.iterations;
        node.busy_s += seconds;
        if (on_device(i)) computing[i].emplace_back(event.begin_ns, event.end_ns);
        break;
      case EventKind::copy_to_device:
        node.bytes_to_device += event.bytes;
        node.transfers.of(event.cause) += event.bytes;
        node.transfer_s += seconds;
        copy_s[i] += seconds;
        if (on_device(i)) copying[i].emplace_back(event.begin_ns, event.end_ns);
        break;
      case EventKind::copy_to_host:
        node.bytes_to_host += event.bytes;
        node.transfers.of(event.cause) += event.bytes;
        node.transfer_s += seconds;
        copy_s[i] += seconds;
        if (on_device(i)) copying[i].emplace_back(event.begin_ns, event.end_ns);
        break;
      case EventKind::copy_peer:
        // Not over the node's link: its time is not the link's, and rank 0 does not see it.
        node.transfers.peer += event.bytes;
        break;
      case EventKind::wait:
        break;
    }
  }
  for (std::size_t i = 0; i < report.nodes.size(); ++i) {
    NodeReport& node = report.nodes[i];
    node.lanes = std::max({lanes_seen[i], i < lanes.size() ? lanes[i] : 1, 1});
    if (on_device(i)) {
      node.busy_s = covered_seconds(std::move(computing[i]));
      node.transfer_s = covered_seconds(std::move(copying[i]));
    } else {
      const double lane_count = node.lanes;
      node.busy_s /= lane_count;
      node.transfer_s /= lane_count;
    }
    node.idle_s = std::max(0.0, report.wall_s - node.busy_s - node.transfer_s);
    node.giters =
        report.wall_s > 0 ? static_cast<double>(node.iterations) / report.wall_s * 1e-9 : 0;
    const std::uint64_t bytes = node.bytes_to_device + node.bytes_to_host;
    node.copy_gbps = copy_s[i] > 0 ? static_cast<double>(bytes) / copy_s[i] * 1e-9 : 0;
    report.iterations += node.iterations;
  }
  report.giters =
      report.wall_s > 0 ? static_cast<double>(report.iterations) / report.wall_s * 1e-9 : 0;
  return report;
}

std::uint64_t& TransferBytes::of(TransferCause cause) {
  switch (cause) {
    case TransferCause::halo:
      return halo;
    case TransferCause::write_back:
      return write_back;
    case TransferCause::eviction:
      return eviction;
    case TransferCause::control:
      return control;
    case TransferCause::read_miss:
      break;
  }
  return read_miss;
}

std::string to_json(const Report& report) {
  using nlohmann::json;
  json nodes = json::array();
  for (const NodeReport& node : report.nodes) {
    nodes.push_back(
        {{"name", node.name},
         {"device", node.device},
         {"kind", to_string(node.kind)},
         {"lanes", node.lanes},
         {"tiles", node.tiles},
         {"pieces", node.pieces},
         {"pixels", node.pixels},
         {"iterations", node.iterations},
         {"busy_s", node.busy_s},
         {"transfer_s", node.transfer_s},
         {"idle_s", node.idle_s},
         {"giters_per_s", node.giters},
         {"bytes_to_device", node.bytes_to_device},
         {"bytes_to_host", node.bytes_to_host},
         {"bytes_by_cause",
          {{"read_miss", node.transfers.read_miss},
           {"halo", node.transfers.halo},
           {"write_back", node.transfers.write_back},
           {"eviction", node.transfers.eviction},
           {"control", node.transfers.control}}},
         {"bytes_peer", node.transfers.peer},
         {"copy_gb_per_s", detail::measured(node.copy_gbps)},
         {"tile_share", node.tile_share},
         {"iteration_share", node.iteration_share},
         {"model_giters_per_s", detail::measured(node.model_giters)},
         {"peak_device_bytes", node.peak_device_bytes},
         {"device_memory_cap_bytes", detail::measured(static_cast<double>(node.device_memory_cap))},
         {"failure", node.failure},
         {"predicted_s", detail::measured(node.predicted_s)},
         {"finished_s", detail::measured(node.finished_s)}});
  }
  const JobSpec& job = report.job;
  json document = {
      {"schema", "hetero.report"},
      {"schema_version", 7},
      {"hetero_version", report.version},
      {"kernel", report.kernel},
      {"job",
       {{"preset", job.preset},
        {"width", job.width},
        {"height", job.height},
        {"max_iter", job.max_iter},
        {"precision", to_string(job.precision)},
        {"mode", to_string(job.mode)},
        {"region",
         {{"xmin", job.region.xmin},
          {"xmax", job.region.xmax},
          {"ymin", job.region.ymin},
          {"ymax", job.region.ymax}}},
        {"axes", job.rule == AxisRule::accumulated ? "accumulated" : "pixel_centres"}}},
      {"policy", to_string(report.policy)},
      {"tile_pixels", report.tile_pixels},
      {"tiles", report.tiles},
      {"nodes", std::move(nodes)},
      {"wall_s", report.wall_s},
      {"iterations", report.iterations},
      {"giters_per_s", report.giters},
      {"effective_iterations", report.effective_iterations},
      {"peak_host_bytes", report.peak_host_bytes},
      {"checksum", {{"sum", report.checksum.sum}, {"hash", report.checksum.hash_hex()}}},
      {"tiles_rerun", report.tiles_rerun},
      {"notes", report.notes},
  };
  json unavailable = json::array();
  for (const UnavailableNode& node : report.unavailable) {
    unavailable.push_back({{"name", node.name}, {"reason", node.reason}});
  }
  document["unavailable_nodes"] = std::move(unavailable);
  if (report.ideal_giters > 0) {
    document["ideal_giters_per_s"] = report.ideal_giters;
    document["efficiency"] = report.efficiency;
    document["wall_lower_bound_s"] = report.wall_lower_bound_s;
  }
  if (report.best_alone_giters > 0) {
    document["best_alone"] = {{"node", report.best_alone_node},
                              {"giters_per_s", report.best_alone_giters},
                              {"efficiency", report.efficiency_vs_best_alone}};
  }
  if (const auto speedup = report.speedup()) {
    document["serial_wall_s"] = *report.serial_wall_s;
    document["speedup_over_serial"] = *speedup;
  }
  return document.dump(2);
}

std::string job_line(const JobSpec& job, Policy policy) {
  return fmt::format("{} {}x{}, max-iter {}, {} {}, policy {}", job.preset, job.width, job.height,
                     job.max_iter, to_string(job.precision), to_string(job.mode),
                     to_string(policy));
}

void print_table(const Report& report, std::ostream& out, bool with_job) {
  const JobSpec& job = report.job;
  const bool mandelbrot = report.kernel == "mandelbrot";
  if (mandelbrot) {
    const std::string tiles =
        fmt::format("tile {} px ({} tiles)", report.tile_pixels, report.tiles);
    if (with_job) {
      fmt::print(out, "{}, {}\n", job_line(job, report.policy), tiles);
    } else {
      fmt::print(out, "{}\n", tiles);
    }
  } else {
    fmt::print(out, "kernel {} over {}x{}, policy {}, tile {} elements ({} tiles)\n", report.kernel,
               job.width, job.height, to_string(report.policy), report.tile_pixels, report.tiles);
  }
  for (const std::string& note : report.notes) fmt::print(out, "note: {}\n", note);
  fmt::print(out, "{:<8} {:>5} {:>6} {:>6} {:>14} {:>6} {:>9} {:>9} {:>9} {:>8} {:>10}\n", "node",
             "lanes", "tiles", "tile%", "iterations", "iter%", "busy s", "idle s", "copy s",
             "Giter/s", "copy GB/s");
  for (const NodeReport& node : report.nodes) {
    fmt::print(out,
               "{:<8} {:>5} {:>6} {:>5.1f}% {:>14} {:>5.1f}% {:>9.4f} {:>9.4f} {:>9.4f} {:>8.3f} "
               "{:>10.2f}{}\n",
               node.name, node.lanes, node.tiles, node.tile_share * 100, node.iterations,
               node.iteration_share * 100, node.busy_s, node.idle_s, node.transfer_s, node.giters,
               node.copy_gbps, node.failure.empty() ? "" : "  FAILED: " + node.failure);
  }
  if (mandelbrot) {
    if (report.effective_iterations > report.iterations && report.wall_s > 0) {
      fmt::print(out,
                 "note: {} iterations performed; the counts stand for {} ({:.3f} Giter/s "
                 "effective): the kernel settled points without iterating them\n",
                 report.iterations, report.effective_iterations,
                 static_cast<double>(report.effective_iterations) / report.wall_s * 1e-9);
    }
    fmt::print(out, "wall {:.4f} s, {:.3f} Giter/s, checksum sum {} hash {}", report.wall_s,
               report.giters, report.checksum.sum, report.checksum.hash_hex());
  } else {
    fmt::print(out, "wall {:.4f} s, {} work units, {:.3f} G units/s", report.wall_s,
               report.iterations, report.giters);
    if (report.checksum != Checksum{}) {
      fmt::print(out, ", checksum sum {} hash {}", report.checksum.sum, report.checksum.hash_hex());
    }
  }
  if (const auto speedup = report.speedup())
    fmt::print(out, ", speed-up {:.2f}x over serial", *speedup);
  fmt::print(out, "\n");
  for (const NodeReport& node : report.nodes) {
    if (node.predicted_s > 0) {
      fmt::print(out, "planned: {} predicted to finish at {:.4f} s, finished at {:.4f} s\n",
                 node.name, node.predicted_s, node.finished_s);
    }
  }
  if (report.ideal_giters > 0 && report.nodes.size() > 1) {
    fmt::print(out,
               "co-scheduling: {:.3f} of the nodes' ideal {:.3f} Giter/s = efficiency {:.3f}; "
               "model lower bound on wall {:.4f} s\n",
               report.giters, report.ideal_giters, report.efficiency, report.wall_lower_bound_s);
  }
  if (report.best_alone_giters > 0 && report.nodes.size() > 1) {
    fmt::print(out, "against the best node alone: {:.3f} of {}'s {:.3f} Giter/s = {:.3f}\n",
               report.giters, report.best_alone_node, report.best_alone_giters,
               report.efficiency_vs_best_alone);
  }
}

double covered_seconds(std::vector<std::pair<std::int64_t, std::int64_t>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  std::int64_t covered = 0, reached = std::numeric_limits<std::int64_t>::min();
  for (const auto& [begin, end] : intervals) {
    const std::int64_t from = std::max(begin, reached);
    if (end > from) covered += end - from;
    reached = std::max(reached, end);
  }
  return static_cast<double>(covered) * 1e-9;
}

}  // namespace hetero

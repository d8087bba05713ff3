// Report: what each node did in a run and what the run achieved, as a table or JSON.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hetero/job.hpp"
#include "hetero/node.hpp"
#include "hetero/policy.hpp"
#include "hetero/trace.hpp"

namespace hetero {

/// Bytes a node's copies moved over its link to the host, by cause (both directions), and
/// between its own memories (an mpi node's ranks, rank to rank), whatever the cause.
struct TransferBytes {
  std::uint64_t read_miss = 0, halo = 0, write_back = 0, eviction = 0, control = 0;
  std::uint64_t peer = 0;
  std::uint64_t& of(TransferCause cause);
};

struct NodeReport {
  std::string name;
  std::string device;
  NodeKind kind = NodeKind::host;
  int lanes = 0;
  std::int64_t tiles = 0;   ///< tiles computed
  std::int64_t pieces = 0;  ///< kernel launches: one per tile, more when memory was short
  std::int64_t pixels = 0;
  std::uint64_t iterations = 0;
  /// Time spent computing: a host node's mean over its lanes (its workers, each on a core of
  /// its own); a device node's union over its lanes (streams or queues of one device, whose
  /// kernels may overlap or wait for one another).
  double busy_s = 0;
  double transfer_s = 0;  ///< time spent copying, likewise
  double idle_s = 0;      ///< wall time the node's lanes were neither busy nor copying
  double giters = 0;      ///< iterations / wall time, in 1e9 per second
  std::uint64_t bytes_to_device = 0, bytes_to_host = 0;
  TransferBytes transfers;              ///< the same bytes by cause
  double copy_gbps = 0;                 ///< bytes moved / time copying, in 1e9 bytes per second
  double tile_share = 0;                ///< this node's fraction of the job's tiles
  double iteration_share = 0;           ///< this node's fraction of the job's iterations
  double model_giters = 0;              ///< the node's own throughput from the model; 0: unknown
  std::uint64_t peak_device_bytes = 0;  ///< peak memory in the node's own space (device nodes)
  std::uint64_t device_memory_cap = 0;  ///< the cap on that space; 0: none
  std::string failure;                  ///< why the node failed during the run; empty if it did not
  /// Kernel runs: when the planner predicted the node would finish (runs planned by auto; 0
  /// otherwise), and when its last event did end (seconds from the start; 0 when it did
  /// nothing).
  double predicted_s = 0, finished_s = 0;
};

struct Report {
  std::string version;
  std::string kernel = "mandelbrot";  ///< the workload: the job, or a user kernel's name
  JobSpec job;                        ///< a user kernel's run: its index space as width x height
  Policy policy = Policy::dynamic;
  std::int64_t tile_pixels = 0;
  std::int64_t tiles = 0;
  std::vector<NodeReport> nodes;
  double wall_s = 0;
  std::uint64_t iterations = 0;  ///< iterations performed (the compute events' sum)
  double giters = 0;             ///< iterations performed per second
  /// The Mandelbrot job: the iterations its counts stand for (iterations_of each count), more
  /// than those performed when a kernel settled points without iterating them all (simd-cycles
  /// stops at a repeating state, simd-shortcuts skips the cardioid and bulb).
  std::uint64_t effective_iterations = 0;
  Checksum checksum;
  std::uint64_t peak_host_bytes = 0;
  std::optional<double> serial_wall_s;  ///< a serial run's wall time, when one is known
  /// The sum of the nodes' own throughputs (from the model) and the run's achieved
  /// throughput as a fraction of it; 0 when some node's throughput is unknown.
  double ideal_giters = 0;
  double efficiency = 0;
  double wall_lower_bound_s = 0;  ///< iterations / ideal throughput
  /// The fastest node's own throughput (from the model; nodes left out included) and the run's
  /// achieved throughput as a fraction of it: below 1, that node alone would have done better.
  /// 0 when some node's throughput is unknown.
  double best_alone_giters = 0;
  std::string best_alone_node;
  double efficiency_vs_best_alone = 0;
  std::int64_t tiles_rerun = 0;    ///< tiles recomputed after a node failed
  std::vector<std::string> notes;  ///< resource sharing, dropped nodes, failures
  /// Backends asked for that could not run, whose tiles the others took (--fallback).
  std::vector<UnavailableNode> unavailable;

  std::optional<double> speedup() const {
    if (!serial_wall_s || wall_s <= 0) return std::nullopt;
    return *serial_wall_s / wall_s;
  }
};

/// Builds the per-node figures from a run's trace; `lanes[i]` is node i's Node::lanes(), the
/// lanes a host node's busy and copy times are averaged over.
Report make_report(const Trace& trace, const std::vector<NodeInfo>& nodes,
                   const std::vector<int>& lanes, const JobSpec& job, Policy policy,
                   std::int64_t tile_pixels, std::int64_t tiles, const Checksum& checksum);

/// The report as JSON (schema "hetero.report", version 5: bytes by cause, the planner's
/// predicted against the measured finish per node, the run against the best node alone).
std::string to_json(const Report& report);

/// The time `intervals` ([begin, end) in ns) cover, overlaps counted once, in seconds.
double covered_seconds(std::vector<std::pair<std::int64_t, std::int64_t>> intervals);
/// The report as a table for people.
void print_table(const Report& report, std::ostream& out, bool with_job = true);
/// What a Mandelbrot run's table opens with, known before it runs: the job and the policy. A
/// program that prints it first passes with_job = false to print_table, whose table then opens
/// with the tiles the run chose.
std::string job_line(const JobSpec& job, Policy policy);

}  // namespace hetero

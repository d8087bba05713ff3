// Dispatcher: runs a job on a set of nodes at once under a policy.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/job.hpp"
#include "hetero/model.hpp"
#include "hetero/node.hpp"
#include "hetero/policy.hpp"
#include "hetero/report.hpp"
#include "hetero/trace.hpp"

namespace hetero {

/// A fault injected for tests: the node at position `node` of the run fails after completing
/// `after_tiles` tiles.
struct FaultInjection {
  std::size_t node = 0;
  std::int64_t after_tiles = 0;
};

struct RunOptions {
  Policy policy = Policy::dynamic;
  std::int64_t tile_pixels = 0;             ///< 0: chosen automatically
  const std::atomic<bool>* stop = nullptr;  ///< set to stop the run after the tiles in hand
  /// Throughput model used by weighted and auto (calibrating nodes it does not know) and
  /// taught by every run; nullptr: a model private to this run.
  ThroughputModel* model = nullptr;
  std::vector<FaultInjection> faults;  ///< test hook
  /// User kernels: a node with no implementation of the kernel is left out, with a note,
  /// instead of failing the run.
  bool fallback = false;
};

/// Live progress of a run, readable from any thread.
struct Progress {
  std::atomic<std::int64_t> tiles_done{0};
  std::atomic<std::int64_t> tiles_total{0};
};

struct RunResult {
  std::vector<std::uint32_t> counts;  ///< row-major, width * height
  Report report;
  Trace trace;
};

/// What a run of a user's kernel gives: its results are in the arrays it wrote.
struct LaunchResult {
  Report report;
  Trace trace;
};

/// The tile size chosen when the user gives none: about 16 tiles per lane, at most about 2^25
/// worst-case iterations each (2^35 when device or remote nodes take part), rounded down to
/// whole rows when a row is shorter.
std::int64_t auto_tile_pixels(const JobSpec& spec, int total_lanes, bool device_nodes = false);

/// The tile size of a user kernel's run when none is given: about 16 tiles per lane, at least
/// 256 elements each (a 2-D run rounds it to whole rows).
std::int64_t auto_tile_elements(std::int64_t width, std::int64_t height, int total_lanes);

/// Assigns tiles to nodes in proportion to `weights`, spread over the whole image (smooth
/// weighted round robin) so that no node gets one expensive region; returns one list per node.
std::vector<std::vector<Tile>> spread_by_weight(const std::vector<Tile>& tiles,
                                                const std::vector<double>& weights);

class Dispatcher {
 public:
  explicit Dispatcher(std::vector<std::unique_ptr<Node>> nodes);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

  /// Runs `job` on every node at once, one proxy thread per node. A node that fails loses no
  /// work: its unfinished tiles are re-run on the others and the report names the failure.
  /// Throws Error when every node failed, Cancelled if `options.stop` was set first.
  RunResult run(const Job& job, const RunOptions& options = {}, Progress* progress = nullptr);

  /// Runs a user's kernel on every node at once, the same way. Every node must be able to run
  /// it (Node::can_run). Its throughput per node is learned in `options.model`, or in a model
  /// of the dispatcher's own.
  LaunchResult launch(const backend::Launch& launch, const RunOptions& options = {},
                      Progress* progress = nullptr);

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  ThroughputModel kernel_model_;
};

}  // namespace hetero

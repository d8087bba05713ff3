// Dispatcher: runs a job on a set of nodes at once under a policy.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "hetero/job.hpp"
#include "hetero/node.hpp"
#include "hetero/policy.hpp"
#include "hetero/report.hpp"
#include "hetero/trace.hpp"

namespace hetero {

struct RunOptions {
  Policy policy = Policy::dynamic;
  std::int64_t tile_pixels = 0;            ///< 0: chosen automatically
  const std::atomic<bool>* stop = nullptr; ///< set to stop the run after the tiles in hand
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

/// The tile size chosen when the user gives none: about 16 tiles per lane, rounded to whole
/// rows when a row is shorter than a tile.
std::int64_t auto_tile_pixels(const JobSpec& spec, int total_lanes);

class Dispatcher {
 public:
  explicit Dispatcher(std::vector<std::unique_ptr<Node>> nodes);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

  /// Runs `job` on every node at once, one proxy thread per node. Throws Error if a node
  /// fails and Cancelled if `options.stop` was set before every tile was computed.
  RunResult run(const Job& job, const RunOptions& options = {}, Progress* progress = nullptr);

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace hetero

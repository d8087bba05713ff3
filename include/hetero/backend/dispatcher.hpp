// Dispatcher: runs a job, or a user's kernel, on a set of nodes at once under a policy. For
// backend authors and tools that build their own nodes; users run through hetero::Runtime.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/model.hpp"
#include "hetero/run.hpp"

namespace hetero {

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
  /// Runs under auto keep, of the nodes on one resource (equal NodeInfo::resource), only the one
  /// predicted fastest (see Sharing::fastest); off by default.
  void keep_fastest_on_shared(bool on) { fastest_on_shared_ = on; }

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
  bool fastest_on_shared_ = false;
};

}  // namespace hetero

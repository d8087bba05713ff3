// The dispatcher's engine: rounds of tiles handed out by a policy's distribution, proxy threads,
// failure recovery.
#include "rounds.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hetero/error.hpp"
#include "policies/distribution.hpp"

namespace hetero {

double Progress::fraction() const {
  const double total = work_total.load(std::memory_order_relaxed);
  if (total > 0) return std::min(1.0, work_done.load(std::memory_order_relaxed) / total);
  const auto tiles = tiles_total.load(std::memory_order_relaxed);
  return tiles > 0 ? static_cast<double>(tiles_done.load(std::memory_order_relaxed)) /
                         static_cast<double>(tiles)
                   : 0;
}

}  // namespace hetero

namespace hetero::detail {
namespace {

// Which node completed each tile of the job; shared by every round of one run.
class Completion {
 public:
  // Tiles `done` (a resumed run's) count as completed by no node.
  Completion(std::size_t tiles, const std::vector<bool>& done, const std::vector<double>& work,
             Progress* progress)
      : done_by_(tiles), work_(work), progress_(progress) {
    if (progress_ != nullptr) {
      progress_->tiles_done = 0;
      progress_->tiles_total = static_cast<std::int64_t>(tiles);
      progress_->work_done = 0;
      double total = 0;
      for (const double units : work_) total += units;
      progress_->work_total = total;
    }
    for (std::size_t i = 0; i < tiles; ++i) {
      const bool was_done = i < done.size() && done[i];
      done_by_[i].store(was_done ? kNoNode : kNotDone, std::memory_order_relaxed);
      if (was_done) count(i);
    }
  }
  // True the first time `tile` is marked.
  bool mark(const Tile& tile, int node) {
    int expected = kNotDone;
    if (!done_by_[static_cast<std::size_t>(tile.index)].compare_exchange_strong(expected, node)) {
      return false;
    }
    count(static_cast<std::size_t>(tile.index));
    return true;
  }
  int done_by(std::int64_t tile) const {
    return done_by_[static_cast<std::size_t>(tile)].load(std::memory_order_relaxed);
  }
  std::vector<Tile> remaining(const std::vector<Tile>& tiles) const {
    std::vector<Tile> left;
    for (const Tile& tile : tiles) {
      if (done_by(tile.index) == kNotDone) left.push_back(tile);
    }
    return left;
  }

 private:
  void count(std::size_t tile) {
    if (progress_ == nullptr) return;
    progress_->tiles_done.fetch_add(1, std::memory_order_relaxed);
    if (tile < work_.size()) progress_->work_done.fetch_add(work_[tile], std::memory_order_relaxed);
  }

  static constexpr int kNotDone = -1, kNoNode = -2;
  std::vector<std::atomic<int>> done_by_;
  const std::vector<double>& work_;
  Progress* progress_;
};

// A node's injected fault: fail after that many tiles (-1: never), or a delay per tile.
struct Injected {
  std::int64_t fail_after = -1;
  std::chrono::microseconds delay{0};
};

class Round;

class NodeWork final : public WorkSource {
 public:
  NodeWork(Round& round, std::size_t node, const Injected& injected,
           const std::function<void(const Tile&)>& on_completed)
      : round_(round), node_(node), injected_(injected), on_completed_(on_completed) {}
  bool self_scheduling() const override;
  std::span<const Tile> assigned() const override;
  std::optional<Tile> next() override;
  bool stop_requested() const override;
  void completed(const Tile& tile) override;
  std::size_t max_tiles() const override;

 private:
  Round& round_;
  std::size_t node_;
  const Injected& injected_;
  const std::function<void(const Tile&)>& on_completed_;
  std::atomic<std::int64_t> completed_{0};
};

// One round: its tiles distributed by policy, the run's completion, and its stop flag.
class Round {
 public:
  Round(std::unique_ptr<TileDistribution> distribution, std::size_t tiles, Completion& completion,
        const std::atomic<bool>* stop)
      : distribution_(std::move(distribution)),
        tiles_(tiles),
        completion_(completion),
        stop_(stop) {}

  TileDistribution& distribution() { return *distribution_; }
  std::size_t tiles() const { return tiles_; }
  Completion& completion() { return completion_; }
  bool stop_requested() const { return stop_ != nullptr && stop_->load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<TileDistribution> distribution_;
  std::size_t tiles_;
  Completion& completion_;
  const std::atomic<bool>* stop_;
};

bool NodeWork::self_scheduling() const {
  return round_.distribution().self_scheduling();
}

std::span<const Tile> NodeWork::assigned() const {
  return round_.distribution().assigned(node_);
}

std::optional<Tile> NodeWork::next() {
  if (round_.stop_requested()) return std::nullopt;
  return round_.distribution().next(node_);
}

std::size_t NodeWork::max_tiles() const {
  return self_scheduling() ? round_.tiles() : assigned().size();
}

bool NodeWork::stop_requested() const {
  return round_.stop_requested();
}

void NodeWork::completed(const Tile& tile) {
  if (round_.completion().mark(tile, static_cast<int>(node_)) && on_completed_) {
    on_completed_(tile);
  }
  if (injected_.delay.count() > 0) std::this_thread::sleep_for(injected_.delay);
  const std::int64_t count = completed_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (injected_.fail_after >= 0 && count >= injected_.fail_after) {
    throw Error(fmt::format("injected fault after {} tiles", count));
  }
}

std::string describe_exception(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Node i's injected faults.
std::vector<Injected> injected_faults(const RoundsInput& input, const RunOptions& options) {
  std::vector<Injected> injected(input.infos.size());
  for (const FaultInjection& fault : options.faults) {
    if (fault.node >= injected.size()) continue;
    if (fault.delay_us > 0) {
      injected[fault.node].delay = std::chrono::microseconds(fault.delay_us);
    } else {
      injected[fault.node].fail_after = fault.after_tiles;
    }
  }
  return injected;
}

// Runs one round: each active node on a proxy thread, or a lone host node on the calling
// thread (a device node's runtime may keep per-thread state, such as CUDA's current device,
// that the caller's thread must not inherit); returns each node's error, if any.
std::vector<std::exception_ptr> run_round(Round& round, const RoundsInput& input,
                                          const std::vector<bool>& active,
                                          const std::vector<Injected>& injected,
                                          std::vector<NodeTrace>& traces, const NodeTask& task) {
  std::vector<std::exception_ptr> errors(active.size());
  const auto run_node = [&](std::size_t i) {
    NodeWork work(round, i, injected[i], input.on_completed);
    try {
      task(i, work, traces[i]);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::vector<std::size_t> running;
  for (std::size_t i = 0; i < active.size(); ++i) {
    if (active[i]) running.push_back(i);
  }
  if (running.size() == 1 && input.infos[running.front()].kind == NodeKind::host) {
    run_node(running.front());
    return errors;
  }
  std::vector<std::thread> proxies;
  for (const std::size_t i : running) proxies.emplace_back(run_node, i);
  for (std::thread& proxy : proxies) proxy.join();
  return errors;
}

// The trace of the run: compute events only of the node that completed the tile (work a failed
// node lost is gone), sorted by start.
Trace merge_traces(const std::vector<NodeTrace>& traces, const std::vector<NodeInfo>& infos,
                   const Completion& completion, std::int64_t wall_ns) {
  Trace trace;
  trace.wall_ns = wall_ns;
  for (const NodeInfo& info : infos) trace.node_names.push_back(info.name);
  for (const NodeTrace& node : traces) {
    for (std::int32_t lane = 0; lane < node.lane_count(); ++lane) {
      for (const TraceEvent& event : node.lane_at(lane).events()) {
        if (event.kind == EventKind::compute && completion.done_by(event.tile) != event.node) {
          continue;
        }
        trace.events.push_back(event);
      }
    }
  }
  std::sort(trace.events.begin(), trace.events.end(),
            [](const TraceEvent& a, const TraceEvent& b) { return a.begin_ns < b.begin_ns; });
  return trace;
}

}  // namespace

Execution execute_rounds(const RoundsInput& input, const RunOptions& options, Progress* progress,
                         const NodeTask& task) {
  const std::size_t node_count = input.infos.size();
  const std::vector<Tile>& tiles = input.tiles;
  Completion completion(tiles.size(), input.done, input.tile_work, progress);
  TraceClock clock;
  std::vector<NodeTrace> traces;
  traces.reserve(node_count);
  for (std::size_t i = 0; i < node_count; ++i) {
    traces.emplace_back(&clock, static_cast<std::int32_t>(i));
    traces.back().reserve_lanes(input.lanes[i]);
  }
  const std::vector<Injected> injected = injected_faults(input, options);

  Execution execution;
  execution.failures.resize(node_count);
  execution.active = input.active;
  std::vector<bool>& active = execution.active;
  std::vector<Tile> round_tiles = completion.remaining(tiles);
  Policy round_policy = options.policy;
  for (;;) {
    RoundShape shape =
        shape_round(round_tiles, input.lanes, input.weights, active, input.preferred);
    shape.static_by_share = input.static_by_weight;
    Round round(distribute(round_policy, shape), round_tiles.size(), completion, options.stop);
    const std::vector<std::exception_ptr> errors =
        run_round(round, input, active, injected, traces, task);

    std::vector<std::size_t> failed_now;
    for (std::size_t i = 0; i < node_count; ++i) {
      if (!errors[i]) continue;
      execution.failures[i] = describe_exception(errors[i]);
      active[i] = false;
      failed_now.push_back(i);
    }
    round_tiles = completion.remaining(tiles);
    std::vector<std::string> healthy;
    for (std::size_t i = 0; i < node_count; ++i) {
      if (active[i]) healthy.push_back(input.infos[i].name);
    }
    for (const std::size_t i : failed_now) {
      if (healthy.empty()) break;
      const std::string& name = input.infos[i].name;
      execution.notes.push_back(
          round_tiles.empty()
              ? fmt::format("node '{}' failed: {}; the other nodes took its share", name,
                            execution.failures[i])
              : fmt::format("node '{}' failed: {}; {} unfinished tiles re-run on {}", name,
                            execution.failures[i], round_tiles.size(), fmt::join(healthy, ", ")));
    }
    if (round_tiles.empty()) break;
    if (round.stop_requested()) {
      throw Cancelled(fmt::format("stopped after {} of {} tiles", tiles.size() - round_tiles.size(),
                                  tiles.size()));
    }
    if (failed_now.empty() || healthy.empty()) {
      for (std::size_t i = 0; i < node_count; ++i) {
        if (!execution.failures[i].empty()) {
          throw Error(
              fmt::format("node '{}' failed: {}", input.infos[i].name, execution.failures[i]));
        }
      }
      throw Error(fmt::format("internal error: {} of {} tiles were not computed",
                              round_tiles.size(), tiles.size()));
    }
    // Re-run what the failed nodes left on the healthy ones, from a shared queue.
    execution.tiles_rerun += static_cast<std::int64_t>(round_tiles.size());
    round_policy = Policy::dynamic;
  }
  execution.trace = merge_traces(traces, input.infos, completion, clock.now_ns());
  return execution;
}

}  // namespace hetero::detail

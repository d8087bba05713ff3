// The dispatcher's engine: tiles handed out by policy, proxy threads, failure recovery.
#include "rounds.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hetero/error.hpp"

namespace hetero::detail {
namespace {

// Fraction of the tiles the auto policy assigns up front by weight; the rest is a shared tail.
constexpr int kAutoTailEvery = 5;

// Which node completed each tile of the job; shared by every round of one run.
class Completion {
 public:
  Completion(std::size_t tiles, Progress* progress) : done_by_(tiles), progress_(progress) {
    for (auto& slot : done_by_) slot.store(-1, std::memory_order_relaxed);
  }
  void mark(const Tile& tile, int node) {
    int expected = -1;
    if (done_by_[static_cast<std::size_t>(tile.index)].compare_exchange_strong(expected, node) &&
        progress_ != nullptr) {
      progress_->tiles_done.fetch_add(1, std::memory_order_relaxed);
    }
  }
  int done_by(std::int64_t tile) const {
    return done_by_[static_cast<std::size_t>(tile)].load(std::memory_order_relaxed);
  }
  std::vector<Tile> remaining(const std::vector<Tile>& tiles) const {
    std::vector<Tile> left;
    for (const Tile& tile : tiles) {
      if (done_by(tile.index) < 0) left.push_back(tile);
    }
    return left;
  }

 private:
  std::vector<std::atomic<int>> done_by_;
  Progress* progress_;
};

// How the tiles of one round are handed out.
struct RoundPlan {
  Policy policy = Policy::dynamic;
  std::vector<std::vector<Tile>> own;  // per node: fixed (static, weighted) or first (auto) tiles
  std::vector<Tile> queue;             // shared queue (dynamic, guided, auto's tail)
  int total_lanes = 1;
};

class Round;

class NodeWork final : public WorkSource {
 public:
  NodeWork(Round& round, int node, std::int64_t fail_after)
      : round_(round), node_(node), fail_after_(fail_after) {}
  bool self_scheduling() const override;
  std::span<const Tile> assigned() const override;
  std::optional<Tile> next() override;
  bool stop_requested() const override;
  void completed(const Tile& tile) override;

 private:
  Round& round_;
  int node_;
  std::int64_t fail_after_;  // < 0: no injected fault
  std::atomic<std::int64_t> completed_{0};
  std::atomic<std::size_t> own_next_{0};
  std::mutex chunk_mutex_;
  std::size_t chunk_begin_ = 0, chunk_end_ = 0;
};

class Round {
 public:
  Round(RoundPlan plan, Completion& completion, const std::atomic<bool>* stop)
      : plan_(std::move(plan)), completion_(completion), stop_(stop) {}

  const RoundPlan& plan() const { return plan_; }
  Completion& completion() { return completion_; }
  bool stop_requested() const { return stop_ != nullptr && stop_->load(std::memory_order_relaxed); }

  std::optional<Tile> next_from_queue() {
    if (stop_requested()) return std::nullopt;
    const std::size_t i = queue_next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= plan_.queue.size()) return std::nullopt;
    return plan_.queue[i];
  }
  // Guided: the next chunk of the queue, about remaining / (2 * lanes) tiles.
  std::pair<std::size_t, std::size_t> next_chunk() {
    if (stop_requested()) return {0, 0};
    const std::size_t total = plan_.queue.size();
    std::size_t begin = queue_next_.load(std::memory_order_relaxed);
    for (;;) {
      if (begin >= total) return {0, 0};
      const std::size_t chunk = std::max<std::size_t>(
          1, (total - begin) / (2 * static_cast<std::size_t>(plan_.total_lanes)));
      if (queue_next_.compare_exchange_weak(begin, begin + chunk)) {
        return {begin, std::min(total, begin + chunk)};
      }
    }
  }

 private:
  RoundPlan plan_;
  Completion& completion_;
  const std::atomic<bool>* stop_;
  std::atomic<std::size_t> queue_next_{0};
};

bool NodeWork::self_scheduling() const {
  const Policy policy = round_.plan().policy;
  return policy != Policy::static_split && policy != Policy::weighted;
}

std::span<const Tile> NodeWork::assigned() const {
  if (self_scheduling()) return {};
  return round_.plan().own[static_cast<std::size_t>(node_)];
}

std::optional<Tile> NodeWork::next() {
  const RoundPlan& plan = round_.plan();
  switch (plan.policy) {
    case Policy::static_split:
    case Policy::weighted:
      return std::nullopt;
    case Policy::dynamic:
      return round_.next_from_queue();
    case Policy::guided: {
      std::lock_guard lock(chunk_mutex_);
      if (chunk_begin_ == chunk_end_) std::tie(chunk_begin_, chunk_end_) = round_.next_chunk();
      if (chunk_begin_ == chunk_end_ || round_.stop_requested()) return std::nullopt;
      return plan.queue[chunk_begin_++];
    }
    case Policy::automatic: {
      if (round_.stop_requested()) return std::nullopt;
      const auto& own = plan.own[static_cast<std::size_t>(node_)];
      const std::size_t i = own_next_.fetch_add(1, std::memory_order_relaxed);
      if (i < own.size()) return own[i];
      return round_.next_from_queue();
    }
  }
  return std::nullopt;
}

bool NodeWork::stop_requested() const {
  return round_.stop_requested();
}

void NodeWork::completed(const Tile& tile) {
  round_.completion().mark(tile, node_);
  const std::int64_t count = completed_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (fail_after_ >= 0 && count >= fail_after_) {
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

RoundPlan plan_round(Policy policy, const std::vector<Tile>& tiles, const std::vector<int>& lanes,
                     const std::vector<double>& weights, const std::vector<bool>& active) {
  RoundPlan plan;
  plan.policy = policy;
  plan.own.resize(lanes.size());
  plan.total_lanes = 0;
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    if (active[i]) plan.total_lanes += lanes[i];
  }
  plan.total_lanes = std::max(1, plan.total_lanes);
  // Weights of the active nodes; equal shares when none is known.
  std::vector<double> shares(lanes.size(), 0.0);
  double known = 0;
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    if (active[i]) known += std::max(0.0, weights[i]);
  }
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    if (active[i]) shares[i] = known > 0 ? std::max(0.0, weights[i]) : 1.0;
  }
  switch (policy) {
    case Policy::static_split: {
      // Contiguous blocks, each node's share proportional to its lanes.
      std::size_t first = 0;
      long lanes_before = 0;
      for (std::size_t i = 0; i < lanes.size(); ++i) {
        if (!active[i]) continue;
        lanes_before += lanes[i];
        const auto last = static_cast<std::size_t>(static_cast<long double>(tiles.size()) *
                                                   lanes_before / plan.total_lanes);
        plan.own[i].assign(tiles.begin() + static_cast<std::ptrdiff_t>(first),
                           tiles.begin() + static_cast<std::ptrdiff_t>(last));
        first = last;
      }
      break;
    }
    case Policy::weighted:
      plan.own = spread_by_weight(tiles, shares);
      break;
    case Policy::dynamic:
    case Policy::guided:
      plan.queue = tiles;
      break;
    case Policy::automatic: {
      std::vector<Tile> head;
      for (const Tile& tile : tiles) {
        (tile.index % kAutoTailEvery == kAutoTailEvery - 1 ? plan.queue : head).push_back(tile);
      }
      plan.own = spread_by_weight(head, shares);
      break;
    }
  }
  return plan;
}

// Node i's injected fault: fail after that many tiles; -1: none.
std::vector<std::int64_t> injected_faults(const RoundsInput& input, const RunOptions& options) {
  std::vector<std::int64_t> fail_after(input.infos.size(), -1);
  for (const FaultInjection& fault : options.faults) {
    if (fault.node < fail_after.size()) fail_after[fault.node] = fault.after_tiles;
  }
  return fail_after;
}

// Runs one round: each active node on a proxy thread; returns each node's error, if any.
std::vector<std::exception_ptr> run_round(Round& round, const std::vector<bool>& active,
                                          const std::vector<std::int64_t>& fail_after,
                                          std::vector<NodeTrace>& traces, const NodeTask& task) {
  std::vector<std::exception_ptr> errors(active.size());
  std::vector<std::thread> proxies;
  for (std::size_t i = 0; i < active.size(); ++i) {
    if (!active[i]) continue;
    proxies.emplace_back([&, i] {
      NodeWork work(round, static_cast<int>(i), fail_after[i]);
      try {
        task(i, work, traces[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
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
  if (progress != nullptr) {
    progress->tiles_done = 0;
    progress->tiles_total = static_cast<std::int64_t>(tiles.size());
  }
  Completion completion(tiles.size(), progress);
  TraceClock clock;
  std::vector<NodeTrace> traces;
  traces.reserve(node_count);
  for (std::size_t i = 0; i < node_count; ++i) {
    traces.emplace_back(&clock, static_cast<std::int32_t>(i));
    traces.back().reserve_lanes(input.lanes[i]);
  }
  const std::vector<std::int64_t> fail_after = injected_faults(input, options);

  Execution execution;
  execution.failures.resize(node_count);
  execution.active = input.active;
  std::vector<bool>& active = execution.active;
  std::vector<Tile> round_tiles = tiles;
  Policy round_policy = options.policy;
  for (;;) {
    Round round(plan_round(round_policy, round_tiles, input.lanes, input.weights, active),
                completion, options.stop);
    const std::vector<std::exception_ptr> errors =
        run_round(round, active, fail_after, traces, task);

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

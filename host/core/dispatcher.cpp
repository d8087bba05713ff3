// The dispatcher: one proxy thread per node, tiles handed out by the run's policy, failed
// nodes' unfinished tiles re-run on the others.
#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hetero/dispatcher.hpp"
#include "hetero/error.hpp"
#include "host_info.hpp"

namespace hetero {
namespace {

// A node whose throughput is below this share of the total does not pay for its set-up under
// the auto policy.
constexpr double kMinAutoShare = 0.02;
// Fraction of the tiles the auto policy assigns up front by weight; the rest is a shared tail.
constexpr int kAutoTailEvery = 5;
// A node's own throughput is learned from runs where it computed at least this long.
constexpr double kMinLearningBusySeconds = 0.01;
// Calibration jobs have at most this many pixels.
constexpr std::int64_t kCalibrationPixels = 1 << 16;

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

}  // namespace

std::vector<std::vector<Tile>> spread_by_weight(const std::vector<Tile>& tiles,
                                                const std::vector<double>& weights) {
  std::vector<std::vector<Tile>> lists(weights.size());
  double total = 0;
  for (const double w : weights) total += std::max(0.0, w);
  if (total <= 0) return lists;
  std::vector<double> credit(weights.size(), 0.0);
  for (const Tile& tile : tiles) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      credit[i] += std::max(0.0, weights[i]);
      if (credit[i] > credit[best]) best = i;
    }
    credit[best] -= total;
    lists[best].push_back(tile);
  }
  return lists;
}

std::int64_t auto_tile_pixels(const JobSpec& spec, int total_lanes, bool device_nodes) {
  constexpr std::int64_t kTilesPerLane = 16;
  constexpr std::int64_t kMinTile = 256;
  // A tile's worst case (every pixel at max_iter) stays near 0.1 s on one scalar core, so a
  // stop request is honoured promptly and no tile holds up the end of a run; a device node,
  // about a thousand times faster, gets tiles large enough to fill it.
  const std::int64_t kMaxTileIterations = std::int64_t{1} << (device_nodes ? 35 : 25);
  const std::int64_t pixels = spec.pixels();
  const std::int64_t lanes = std::max(1, total_lanes);
  std::int64_t tile = (pixels + kTilesPerLane * lanes - 1) / (kTilesPerLane * lanes);
  tile = std::max(tile, std::min(pixels, kMinTile));
  tile = std::min(tile, std::max<std::int64_t>(1, kMaxTileIterations / spec.max_iter));
  if (tile >= spec.width) tile = tile / spec.width * spec.width;
  return std::max<std::int64_t>(1, std::min(tile, pixels));
}

Dispatcher::Dispatcher(std::vector<std::unique_ptr<Node>> nodes) : nodes_(std::move(nodes)) {
  if (nodes_.empty()) throw UsageError("the dispatcher needs at least one node");
}

Dispatcher::~Dispatcher() = default;

namespace {

// Runs `node` alone on a small version of `spec` and returns its throughput in Giter/s. Throws
// Cancelled when `stop` is set before it ends (the node stops after the tiles in hand).
double calibrate(Node& node, const JobSpec& spec, const std::atomic<bool>* stop) {
  JobSpec small = spec;
  const double scale = std::sqrt(static_cast<double>(kCalibrationPixels) /
                                 static_cast<double>(std::max<std::int64_t>(1, spec.pixels())));
  if (scale < 1) {
    small.width = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(spec.width) * scale));
    small.height = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(spec.height) * scale));
  }
  const Job job(small);
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(job.pixels()));
  const std::vector<Tile> tiles = make_tiles(
      job.pixels(),
      auto_tile_pixels(small, std::max(1, node.lanes()), node.info().kind != NodeKind::host));
  Completion completion(tiles.size(), nullptr);
  RoundPlan plan;
  plan.policy = Policy::dynamic;
  plan.queue = tiles;
  plan.own.resize(1);
  plan.total_lanes = std::max(1, node.lanes());
  Round round(std::move(plan), completion, stop);
  NodeWork work(round, 0, -1);
  TraceClock clock;
  NodeTrace trace(&clock, 0);
  trace.reserve_lanes(std::max(1, node.lanes()));
  node.run(job, work, counts, trace);
  if (round.stop_requested()) {
    throw Cancelled(fmt::format("stopped while calibrating {}", node.info().name));
  }
  const double seconds = static_cast<double>(clock.now_ns()) * 1e-9;
  std::uint64_t iterations = 0;
  for (const std::uint32_t count : counts) iterations += iterations_of(count, small.max_iter);
  return seconds > 0 ? static_cast<double>(iterations) / seconds * 1e-9 : 0;
}

}  // namespace

RunResult Dispatcher::run(const Job& job, const RunOptions& options, Progress* progress) {
  const std::size_t node_count = nodes_.size();
  std::vector<int> lanes;
  std::vector<NodeInfo> infos;
  int total_lanes = 0;
  for (const auto& node : nodes_) {
    lanes.push_back(std::max(1, node->lanes()));
    infos.push_back(node->info());
    total_lanes += lanes.back();
  }
  ThroughputModel private_model;
  ThroughputModel& model = options.model != nullptr ? *options.model : private_model;
  const JobSpec& spec = job.spec();
  std::vector<std::string> notes;

  // Weights from the model, calibrating the nodes it does not know yet.
  std::vector<double> weights(node_count, 0.0);
  const bool needs_weights =
      node_count > 1 && (options.policy == Policy::weighted || options.policy == Policy::automatic);
  for (std::size_t i = 0; i < node_count; ++i) {
    ThroughputEstimate estimate = model.estimate(infos[i], spec.precision, spec.mode);
    if (needs_weights && estimate.state != ModelState::calibrated) {
      model.set_calibrating(infos[i], spec.precision, spec.mode, true);
      double giters = 0;
      try {
        giters = calibrate(*nodes_[i], spec, options.stop);
      } catch (...) {
        model.set_calibrating(infos[i], spec.precision, spec.mode, false);
        throw;
      }
      model.set_calibrating(infos[i], spec.precision, spec.mode, false);
      model.record(infos[i], spec.precision, spec.mode, giters);
      notes.push_back(fmt::format("calibrated {}: {:.3f} Giter/s", infos[i].name, giters));
      estimate = model.estimate(infos[i], spec.precision, spec.mode);
    }
    weights[i] = estimate.giters;
  }

  const bool device_nodes = std::any_of(
      infos.begin(), infos.end(), [](const NodeInfo& info) { return info.kind != NodeKind::host; });
  const std::int64_t tile_pixels = options.tile_pixels > 0
                                       ? std::min(options.tile_pixels, job.pixels())
                                       : auto_tile_pixels(spec, total_lanes, device_nodes);
  const std::vector<Tile> tiles = make_tiles(job.pixels(), tile_pixels);

  // auto: a node whose share of the throughput would not pay for its set-up gets no tiles.
  std::vector<bool> active(node_count, true);
  if (options.policy == Policy::automatic && node_count > 1) {
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    const double min_share =
        std::max(kMinAutoShare, 1.0 / static_cast<double>(std::max<std::size_t>(1, tiles.size())));
    const auto fastest = static_cast<std::size_t>(std::max_element(weights.begin(), weights.end()) -
                                                  weights.begin());
    for (std::size_t i = 0; i < node_count; ++i) {
      const double giters = weights[i];
      const double share = total > 0 ? giters / total : 0;
      if (share < min_share && i != fastest) {
        active[i] = false;
        weights[i] = 0;
        notes.push_back(fmt::format(
            "auto dropped {}: its {:.3f} Giter/s is {:.1f}% of the nodes' total, below the "
            "{:.1f}% that pays for its set-up",
            infos[i].name, giters, share * 100, min_share * 100));
      }
    }
  }

  RunResult result;
  result.counts.assign(static_cast<std::size_t>(job.pixels()), 0);
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
    traces.back().reserve_lanes(lanes[i]);
  }
  std::vector<std::int64_t> fail_after(node_count, -1);
  for (const FaultInjection& fault : options.faults) {
    for (std::size_t i = 0; i < node_count; ++i) {
      if (infos[i].name == fault.node) fail_after[i] = fault.after_tiles;
    }
  }

  std::vector<std::string> failures(node_count);
  std::int64_t tiles_rerun = 0;
  const std::span<std::uint32_t> counts(result.counts);
  std::vector<Tile> round_tiles = tiles;
  Policy round_policy = options.policy;
  for (;;) {
    Round round(plan_round(round_policy, round_tiles, lanes, weights, active), completion,
                options.stop);
    std::vector<std::exception_ptr> errors(node_count);
    std::vector<std::thread> proxies;
    for (std::size_t i = 0; i < node_count; ++i) {
      if (!active[i]) continue;
      proxies.emplace_back([&, i] {
        NodeWork work(round, static_cast<int>(i), fail_after[i]);
        try {
          nodes_[i]->run(job, work, counts, traces[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
    for (std::thread& proxy : proxies) proxy.join();

    std::vector<std::string> failed_now;
    for (std::size_t i = 0; i < node_count; ++i) {
      if (!errors[i]) continue;
      failures[i] = describe_exception(errors[i]);
      active[i] = false;
      failed_now.push_back(infos[i].name);
    }
    round_tiles = completion.remaining(tiles);
    std::vector<std::string> healthy;
    for (std::size_t i = 0; i < node_count; ++i) {
      if (active[i]) healthy.push_back(infos[i].name);
    }
    for (const std::string& name : failed_now) {
      const auto i =
          static_cast<std::size_t>(std::find_if(infos.begin(), infos.end(),
                                                [&](const NodeInfo& n) { return n.name == name; }) -
                                   infos.begin());
      if (healthy.empty()) break;
      notes.push_back(round_tiles.empty()
                          ? fmt::format("node '{}' failed: {}; the other nodes took its share",
                                        name, failures[i])
                          : fmt::format("node '{}' failed: {}; {} unfinished tiles re-run on {}",
                                        name, failures[i], round_tiles.size(),
                                        fmt::join(healthy, ", ")));
    }
    if (round_tiles.empty()) break;
    if (round.stop_requested()) {
      throw Cancelled(fmt::format("stopped after {} of {} tiles", tiles.size() - round_tiles.size(),
                                  tiles.size()));
    }
    if (failed_now.empty() || healthy.empty()) {
      for (std::size_t i = 0; i < node_count; ++i) {
        if (!failures[i].empty()) {
          throw Error(fmt::format("node '{}' failed: {}", infos[i].name, failures[i]));
        }
      }
      throw Error(fmt::format("internal error: {} of {} tiles were not computed",
                              round_tiles.size(), tiles.size()));
    }
    // Re-run what the failed nodes left on the healthy ones, from a shared queue.
    tiles_rerun += static_cast<std::int64_t>(round_tiles.size());
    round_policy = Policy::dynamic;
  }
  const std::int64_t wall_ns = clock.now_ns();

  // The trace keeps the compute events of tiles as completed: work a failed node lost is gone.
  result.trace.wall_ns = wall_ns;
  for (const NodeInfo& info : infos) result.trace.node_names.push_back(info.name);
  for (const NodeTrace& trace : traces) {
    for (std::int32_t lane = 0; lane < trace.lane_count(); ++lane) {
      for (const TraceEvent& event : trace.lane_at(lane).events()) {
        if (event.kind == EventKind::compute && completion.done_by(event.tile) != event.node) {
          continue;
        }
        result.trace.events.push_back(event);
      }
    }
  }
  std::sort(result.trace.events.begin(), result.trace.events.end(),
            [](const TraceEvent& a, const TraceEvent& b) { return a.begin_ns < b.begin_ns; });

  Report& report = result.report;
  report = make_report(result.trace, infos, lanes, spec, options.policy, tile_pixels,
                       static_cast<std::int64_t>(tiles.size()), checksum(result.counts));
  report.peak_host_bytes = detail::peak_resident_bytes();
  report.tiles_rerun = tiles_rerun;
  report.notes = std::move(notes);

  // Learn each node's own throughput, then rate the run against the nodes' ideal sum.
  bool all_known = true;
  double ideal = 0;
  for (std::size_t i = 0; i < node_count; ++i) {
    NodeReport& node = report.nodes[i];
    node.failure = failures[i];
    if (const MemorySpace* space = nodes_[i]->memory_space()) {
      node.peak_device_bytes = space->peak_bytes();
      if (space->limit() != MemorySpace::kUnlimited) node.device_memory_cap = space->limit();
      if (node.pieces > node.tiles) {
        report.notes.push_back(fmt::format(
            "node '{}' computed its {} tiles in {} pieces: whole tiles did not fit its device "
            "memory (cap {} bytes)",
            node.name, node.tiles, node.pieces, space->limit()));
      }
    }
    node.tile_share =
        report.tiles > 0 ? static_cast<double>(node.tiles) / static_cast<double>(report.tiles) : 0;
    node.iteration_share = report.iterations > 0 ? static_cast<double>(node.iterations) /
                                                       static_cast<double>(report.iterations)
                                                 : 0;
    if (failures[i].empty() && node.busy_s >= kMinLearningBusySeconds && node.iterations > 0) {
      model.record(infos[i], spec.precision, spec.mode,
                   static_cast<double>(node.iterations) / node.busy_s * 1e-9);
    }
    if (!active[i] && failures[i].empty()) continue;  // dropped: not part of the ideal
    const ThroughputEstimate estimate = model.estimate(infos[i], spec.precision, spec.mode);
    node.model_giters = estimate.giters;
    if (estimate.state == ModelState::uncalibrated) all_known = false;
    ideal += estimate.giters;
  }
  if (all_known && ideal > 0) {
    report.ideal_giters = ideal;
    report.efficiency = report.giters / ideal;
    report.wall_lower_bound_s = static_cast<double>(report.iterations) / ideal * 1e-9;
  }
  return result;
}

}  // namespace hetero

// The dispatcher: one proxy thread per node, tiles handed out by the run's policy.
#include <algorithm>
#include <exception>
#include <thread>

#include <fmt/format.h>

#include "hetero/dispatcher.hpp"
#include "hetero/error.hpp"
#include "hetero/version.hpp"
#include "host_info.hpp"

namespace hetero {
namespace {

// The tiles of one run and how they are handed out, shared by every node's WorkSource.
class Schedule {
 public:
  Schedule(std::vector<Tile> tiles, Policy policy, const std::vector<int>& lanes,
           const std::atomic<bool>* stop, Progress* progress)
      : tiles_(std::move(tiles)), policy_(policy), stop_(stop), progress_(progress) {
    if (policy_ == Policy::static_split) assign_evenly(lanes);
  }

  bool self_scheduling() const { return policy_ != Policy::static_split; }
  std::span<const Tile> assigned(std::size_t node) const {
    if (node >= ranges_.size()) return {};
    const auto [first, last] = ranges_[node];
    return std::span<const Tile>(tiles_).subspan(first, last - first);
  }
  std::optional<Tile> next() {
    if (stop_requested()) return std::nullopt;
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= tiles_.size()) return std::nullopt;
    return tiles_[i];
  }
  bool stop_requested() const {
    return stop_ != nullptr && stop_->load(std::memory_order_relaxed);
  }
  void completed() {
    completed_.fetch_add(1, std::memory_order_relaxed);
    if (progress_ != nullptr) progress_->tiles_done.fetch_add(1, std::memory_order_relaxed);
  }
  std::size_t completed_count() const { return completed_.load(); }
  const std::vector<Tile>& tiles() const { return tiles_; }

 private:
  // Static: contiguous blocks, each node's share proportional to its lanes.
  void assign_evenly(const std::vector<int>& lanes) {
    long total = 0;
    for (const int n : lanes) total += n;
    std::size_t first = 0;
    long lanes_before = 0;
    for (const int n : lanes) {
      lanes_before += n;
      const auto last = static_cast<std::size_t>(
          (static_cast<long double>(tiles_.size()) * lanes_before) / total);
      ranges_.emplace_back(first, last);
      first = last;
    }
  }

  std::vector<Tile> tiles_;
  Policy policy_;
  const std::atomic<bool>* stop_;
  Progress* progress_;
  std::vector<std::pair<std::size_t, std::size_t>> ranges_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> completed_{0};
};

class NodeWork final : public WorkSource {
 public:
  NodeWork(Schedule& schedule, std::size_t node) : schedule_(schedule), node_(node) {}
  bool self_scheduling() const override { return schedule_.self_scheduling(); }
  std::span<const Tile> assigned() const override { return schedule_.assigned(node_); }
  std::optional<Tile> next() override { return schedule_.next(); }
  bool stop_requested() const override { return schedule_.stop_requested(); }
  void completed(const Tile& /*tile*/) override { schedule_.completed(); }

 private:
  Schedule& schedule_;
  std::size_t node_;
};

}  // namespace

std::int64_t auto_tile_pixels(const JobSpec& spec, int total_lanes) {
  constexpr std::int64_t kTilesPerLane = 16;
  constexpr std::int64_t kMinTile = 256;
  const std::int64_t pixels = spec.pixels();
  const std::int64_t lanes = std::max(1, total_lanes);
  std::int64_t tile = (pixels + kTilesPerLane * lanes - 1) / (kTilesPerLane * lanes);
  tile = std::max(tile, std::min(pixels, kMinTile));
  if (tile >= spec.width) tile = (tile + spec.width - 1) / spec.width * spec.width;
  return std::max<std::int64_t>(1, std::min(tile, pixels));
}

Dispatcher::Dispatcher(std::vector<std::unique_ptr<Node>> nodes) : nodes_(std::move(nodes)) {
  if (nodes_.empty()) throw UsageError("the dispatcher needs at least one node");
}

Dispatcher::~Dispatcher() = default;

RunResult Dispatcher::run(const Job& job, const RunOptions& options, Progress* progress) {
  std::vector<int> lanes;
  std::vector<NodeInfo> infos;
  int total_lanes = 0;
  for (const auto& node : nodes_) {
    lanes.push_back(std::max(1, node->lanes()));
    infos.push_back(node->info());
    total_lanes += lanes.back();
  }
  const std::int64_t tile_pixels =
      options.tile_pixels > 0 ? std::min(options.tile_pixels, job.pixels())
                              : auto_tile_pixels(job.spec(), total_lanes);

  RunResult result;
  result.counts.assign(static_cast<std::size_t>(job.pixels()), 0);
  Schedule schedule(make_tiles(job.pixels(), tile_pixels), options.policy, lanes, options.stop,
                    progress);
  if (progress != nullptr) {
    progress->tiles_done = 0;
    progress->tiles_total = static_cast<std::int64_t>(schedule.tiles().size());
  }

  TraceClock clock;
  std::vector<NodeTrace> traces;
  traces.reserve(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    traces.emplace_back(&clock, static_cast<std::int32_t>(i));
    traces.back().reserve_lanes(lanes[i]);
  }

  std::vector<std::exception_ptr> errors(nodes_.size());
  std::vector<std::thread> proxies;
  proxies.reserve(nodes_.size());
  const std::span<std::uint32_t> counts(result.counts);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    proxies.emplace_back([&, i] {
      NodeWork work(schedule, i);
      try {
        nodes_[i]->run(job, work, counts, traces[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (std::thread& proxy : proxies) proxy.join();
  const std::int64_t wall_ns = clock.now_ns();

  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!errors[i]) continue;
    try {
      std::rethrow_exception(errors[i]);
    } catch (const std::exception& e) {
      throw Error(fmt::format("node '{}' failed: {}", infos[i].name, e.what()));
    }
  }
  if (schedule.completed_count() != schedule.tiles().size()) {
    if (schedule.stop_requested()) {
      throw Cancelled(fmt::format("stopped after {} of {} tiles", schedule.completed_count(),
                                  schedule.tiles().size()));
    }
    throw Error(fmt::format("internal error: {} of {} tiles were computed",
                            schedule.completed_count(), schedule.tiles().size()));
  }

  result.trace.wall_ns = wall_ns;
  for (const NodeInfo& info : infos) result.trace.node_names.push_back(info.name);
  for (const NodeTrace& trace : traces) {
    for (std::int32_t lane = 0; lane < trace.lane_count(); ++lane) {
      const auto& events = trace.lane_at(lane).events();
      result.trace.events.insert(result.trace.events.end(), events.begin(), events.end());
    }
  }
  std::sort(result.trace.events.begin(), result.trace.events.end(),
            [](const TraceEvent& a, const TraceEvent& b) { return a.begin_ns < b.begin_ns; });

  result.report = make_report(result.trace, infos, job.spec(), options.policy, tile_pixels,
                              static_cast<std::int64_t>(schedule.tiles().size()),
                              checksum(result.counts));
  result.report.peak_host_bytes = detail::peak_resident_bytes();
  return result;
}

}  // namespace hetero

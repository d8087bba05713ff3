// The dispatcher: a job or a user's kernel on a set of nodes at once. A run is planned (weights,
// tiles, nodes that take part), executed in rounds (rounds.hpp), then reported.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "hetero/backend/dispatcher.hpp"

#include "core/mandelbrot_launch.hpp"
#include "core/run_scheduler.hpp"
#include "hetero/error.hpp"
#include "hetero/version.hpp"
#include "host_info.hpp"
#include "journal.hpp"
#include "planner.hpp"
#include "rounds.hpp"

namespace hetero {
namespace {

// A node whose throughput is below this share of the total does not pay for its set-up under
// the auto policy.
constexpr double kMinAutoShare = 0.02;
// A node's own throughput is learned from runs where it computed at least this long.
constexpr double kMinLearningBusySeconds = 0.01;
// A kernel run teaches the model from 2 ms of computing: kernels are often short and repeated
// (a step of a stencil), and the model keeps the median of its recent samples.
constexpr double kMinKernelLearningBusySeconds = 0.002;
// A link's achieved bandwidth is learned from runs that moved at least this much over it.
constexpr std::uint64_t kMinLearningLinkBytes = std::uint64_t{1} << 20;
// Calibration jobs have at most this many pixels, or this many full waves of a device node,
// one per lane (see calibrate()).
constexpr std::int64_t kCalibrationPixels = 1 << 16;
constexpr std::int64_t kCalibrationWaves = 4;
// Automatic tiles: about this many per lane, and at least this many elements each.
constexpr std::int64_t kTilesPerLane = 16;
constexpr std::int64_t kMinTile = 256;

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

std::int64_t auto_tile_elements(std::int64_t width, std::int64_t height, int total_lanes) {
  const std::int64_t elements = width * height;
  const std::int64_t lanes = std::max(1, total_lanes);
  std::int64_t tile = (elements + kTilesPerLane * lanes - 1) / (kTilesPerLane * lanes);
  tile = std::max(tile, std::min(elements, kMinTile));
  return std::max<std::int64_t>(1, std::min(tile, elements));
}

Dispatcher::Dispatcher(std::vector<std::unique_ptr<Node>> nodes) : nodes_(std::move(nodes)) {
  if (nodes_.empty()) throw UsageError("the dispatcher needs at least one node");
}

Dispatcher::~Dispatcher() = default;

namespace {

// The nodes as a run plans them: who they are, their lanes, and (weighted, auto) their weights.
detail::RoundsInput nodes_of(const std::vector<std::unique_ptr<Node>>& nodes) {
  detail::RoundsInput input;
  for (const auto& node : nodes) {
    input.infos.push_back(node->info());
    input.lanes.push_back(std::max(1, node->lanes()));
  }
  input.weights.assign(nodes.size(), 0.0);
  input.active.assign(nodes.size(), true);
  return input;
}

// Of the nodes taking part.
int total_lanes(const detail::RoundsInput& input) {
  int lanes = 0;
  for (std::size_t i = 0; i < input.lanes.size(); ++i)
    lanes += input.active[i] ? input.lanes[i] : 0;
  return lanes;
}

bool has_device_nodes(const detail::RoundsInput& input) {
  for (std::size_t i = 0; i < input.infos.size(); ++i) {
    if (input.active[i] && input.infos[i].kind != NodeKind::host) return true;
  }
  return false;
}

// Under auto, a node whose share of the throughput would not pay for its set-up gets no tiles
// (the fastest always keeps its share); says why in `notes`. `unit` names the weights' unit.
void drop_slow_nodes(detail::RoundsInput& input, std::string_view unit,
                     std::vector<std::string>& notes) {
  const double total = std::accumulate(input.weights.begin(), input.weights.end(), 0.0);
  const double min_share = std::max(
      kMinAutoShare, 1.0 / static_cast<double>(std::max<std::size_t>(1, input.tiles.size())));
  const auto fastest = static_cast<std::size_t>(
      std::max_element(input.weights.begin(), input.weights.end()) - input.weights.begin());
  for (std::size_t i = 0; i < input.weights.size(); ++i) {
    const double rate = input.weights[i];
    const double share = total > 0 ? rate / total : 0;
    if (input.active[i] && share < min_share && i != fastest) {
      input.active[i] = false;
      input.weights[i] = 0;
      notes.push_back(fmt::format(
          "auto dropped {}: its {:.3f} {} is {:.1f}% of the nodes' total, below the {:.1f}% that "
          "pays for its set-up",
          input.infos[i].name, rate, unit, share * 100, min_share * 100));
    }
  }
}

// Under static, the shares the run was given (one per node) set each node's contiguous part.
void use_static_shares(const RunOptions& options, detail::RoundsInput& input) {
  if (options.policy != Policy::static_split || options.shares.empty()) return;
  if (options.shares.size() != input.infos.size()) {
    throw UsageError(fmt::format("{} shares were given for {} nodes: give one per node",
                                 options.shares.size(), input.infos.size()));
  }
  for (std::size_t i = 0; i < input.infos.size(); ++i) {
    input.weights[i] = input.active[i] ? std::max(0.0, options.shares[i]) : 0;
  }
  input.static_by_weight = true;
}

// Under auto, of the active nodes on one resource only the one with the highest weight keeps
// it (on a tie, the first named): running several would split it, and the split runs slower
// than that node alone. Nodes whose weight is unknown yet (0) are not compared. Says why in
// `notes`. `unit` names the weights' unit.
void leave_out_slower_on_shared(detail::RoundsInput& input, std::string_view unit,
                                std::vector<std::string>& notes) {
  const auto faster = [&](std::size_t j, std::size_t i) {
    if (input.weights[i] <= 0 || input.weights[j] <= 0) return false;
    return input.weights[j] > input.weights[i] || (input.weights[j] == input.weights[i] && j < i);
  };
  for (std::size_t i = 0; i < input.infos.size(); ++i) {
    const std::string& resource = input.infos[i].resource;
    if (!input.active[i] || resource.empty()) continue;
    for (std::size_t j = 0; j < input.infos.size(); ++j) {
      if (j == i || !input.active[j] || input.infos[j].resource != resource || !faster(j, i)) {
        continue;
      }
      notes.push_back(fmt::format(
          "auto left out {}: it shares {} with {}, predicted faster on it alone ({:.3f} against "
          "{:.3f} {}); running both would split it (--share runs both)",
          input.infos[i].name, resource == "host-cpu" ? "the host CPU" : resource,
          input.infos[j].name, input.weights[j], input.weights[i], unit));
      input.active[i] = false;
      input.weights[i] = 0;
      break;
    }
  }
}

// `spec` at about `pixels` pixels (its region and shape kept), or `spec` itself when smaller.
JobSpec scaled_to(const JobSpec& spec, std::int64_t pixels) {
  JobSpec small = spec;
  const double scale = std::sqrt(static_cast<double>(pixels) /
                                 static_cast<double>(std::max<std::int64_t>(1, spec.pixels())));
  if (scale < 1) {
    small.width = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(spec.width) * scale));
    small.height = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(spec.height) * scale));
  }
  return small;
}

// Runs `node` alone on `spec` in tiles of at least `min_tile` pixels and returns its throughput
// in Giter/s. Throws Cancelled when `stop` is set before it ends (the node stops after the tiles
// in hand).
double timed_run(Node& node, const JobSpec& spec, std::int64_t min_tile,
                 const std::atomic<bool>* stop) {
  const Job job(spec);
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(job.pixels()));
  const backend::Launch launch = detail::mandelbrot_launch(job, node.info().tile_kernel, counts);
  detail::RoundsInput input;
  input.infos = {node.info()};
  input.lanes = {std::max(1, node.lanes())};
  input.weights = {1.0};
  input.active = {true};
  const std::int64_t tile =
      auto_tile_pixels(spec, input.lanes[0], node.info().kind != NodeKind::host);
  input.tiles = make_tiles(job.pixels(), std::min(job.pixels(), std::max(tile, min_tile)));
  RunOptions options;
  options.stop = stop;
  const auto stopped = [&] {
    return Cancelled(fmt::format("stopped while calibrating {}", node.info().name));
  };
  detail::Execution execution;
  try {
    execution = detail::execute_rounds(
        input, options, nullptr,
        [&](std::size_t, WorkSource& work, NodeTrace& trace) { node.launch(launch, work, trace); });
  } catch (const Cancelled&) {
    throw stopped();
  }
  if (stop != nullptr && stop->load()) throw stopped();
  const double seconds = static_cast<double>(execution.trace.wall_ns) * 1e-9;
  std::uint64_t iterations = 0;
  for (const std::uint32_t count : counts) iterations += iterations_of(count, spec.max_iter);
  return seconds > 0 ? static_cast<double>(iterations) / seconds * 1e-9 : 0;
}

// The throughput of `node` on a small version of `spec`, in Giter/s. A node with a full wave
// (a GPU) runs a small job first, untimed, so that first-launch costs (module loading, first
// allocations) stay out of the figure; then every launch of the timed job fills the device, as
// a large job's would. Throws Cancelled when `stop` is set before it ends.
double calibrate(Node& node, const JobSpec& spec, const std::atomic<bool>* stop) {
  const std::int64_t wave = node.full_wave(
      *detail::mandelbrot_definition(spec.precision, spec.mode, node.info().tile_kernel));
  if (wave > 0) timed_run(node, scaled_to(spec, kCalibrationPixels), 0, stop);
  const std::int64_t pixels = std::max(kCalibrationPixels, kCalibrationWaves * wave);
  return timed_run(node, scaled_to(spec, pixels), wave, stop);
}

// `pixels` zero counts in the host staging memory of the first node taking part that has one
// (a GPU's pinned memory: its copies then land in them directly), else in plain host memory.
Counts counts_for(const std::vector<std::unique_ptr<Node>>& nodes, const std::vector<bool>& active,
                  std::int64_t pixels) {
  const auto size = static_cast<std::size_t>(pixels);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::shared_ptr<MemorySpace> space = active[i] ? nodes[i]->host_staging() : nullptr;
    if (!space) continue;
    const std::size_t bytes = std::max<std::size_t>(1, size) * sizeof(std::uint32_t);
    std::uint32_t* data = nullptr;
    try {
      data = static_cast<std::uint32_t*>(space->allocate(bytes));
    } catch (const Error&) {
      break;  // no pinned memory to spare: plain host memory, copied at pageable speed
    }
    std::fill_n(data, size, 0U);
    return Counts(data, size, std::shared_ptr<void>(data, [space, bytes](void* pointer) {
                    space->deallocate(pointer, bytes);
                  }));
  }
  return Counts(size);
}

// Weights from the model, calibrating the nodes it does not know yet (weighted and auto only).
void weigh_nodes(const std::vector<std::unique_ptr<Node>>& nodes, const JobSpec& spec,
                 const RunOptions& options, ThroughputModel& model, detail::RoundsInput& input,
                 std::vector<std::string>& notes) {
  const bool needs_weights = nodes.size() > 1 && (options.policy == Policy::weighted ||
                                                  options.policy == Policy::automatic);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!input.active[i]) continue;  // left out already
    const NodeInfo& info = input.infos[i];
    ThroughputEstimate estimate = model.estimate(info, spec.precision, spec.mode);
    if (needs_weights && estimate.state != ModelState::calibrated) {
      model.set_calibrating(info, spec.precision, spec.mode, true);
      double giters = 0;
      try {
        giters = calibrate(*nodes[i], spec, options.stop);
      } catch (...) {
        model.set_calibrating(info, spec.precision, spec.mode, false);
        throw;
      }
      model.set_calibrating(info, spec.precision, spec.mode, false);
      model.record(info, spec.precision, spec.mode, giters);
      notes.push_back(fmt::format("calibrated {}: {:.3f} Giter/s", info.name, giters));
      estimate = model.estimate(info, spec.precision, spec.mode);
    }
    input.weights[i] = estimate.giters;
  }
}

// The figures the trace cannot give: device memory, shares, failures. `taking_part` flags the
// nodes the run could use (the others may be serving another run).
void complete_node_reports(Report& report, const std::vector<std::unique_ptr<Node>>& nodes,
                           const detail::Execution& execution,
                           const std::vector<bool>& taking_part) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    NodeReport& node = report.nodes[i];
    node.failure = execution.failures[i];
    const MemorySpace* space = taking_part[i] ? nodes[i]->memory_space() : nullptr;
    if (space != nullptr) {
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
  }
}

// Teaches the model each node's own throughput, then rates the run against the nodes' ideal.
void learn_and_rate(Report& report, const detail::RoundsInput& input,
                    const detail::Execution& execution, const JobSpec& spec,
                    ThroughputModel& model) {
  bool all_known = true;
  double ideal = 0;
  for (std::size_t i = 0; i < input.infos.size(); ++i) {
    NodeReport& node = report.nodes[i];
    const bool failed = !execution.failures[i].empty();
    if (!failed && node.busy_s >= kMinLearningBusySeconds && node.iterations > 0) {
      model.record(input.infos[i], spec.precision, spec.mode,
                   static_cast<double>(node.iterations) / node.busy_s * 1e-9);
    }
    const ThroughputEstimate estimate = model.estimate(input.infos[i], spec.precision, spec.mode);
    if (estimate.state == ModelState::uncalibrated) all_known = false;
    if (estimate.giters > report.best_alone_giters) {
      report.best_alone_giters = estimate.giters;
      report.best_alone_node = input.infos[i].name;
    }
    if (!input.active[i] && !failed) continue;  // left out: not part of the ideal
    node.model_giters = estimate.giters;
    ideal += estimate.giters;
  }
  if (all_known && ideal > 0) {
    report.ideal_giters = ideal;
    report.efficiency = report.giters / ideal;
    report.wall_lower_bound_s = static_cast<double>(report.iterations) / ideal * 1e-9;
    report.efficiency_vs_best_alone = report.giters / report.best_alone_giters;
  } else {
    report.best_alone_giters = 0;
    report.best_alone_node.clear();
  }
}

// Sets the work units of each compute event of a node that is not a host node (host nodes
// count theirs after each tile) and did not count them itself (TraceEvent::counted) to what its
// tile performed, counted from the results in host memory by the kernel's work function;
// `launches` holds one launch for every node, or one for all.
void count_work_performed(std::span<const backend::Launch> launches,
                          const std::vector<NodeInfo>& nodes, Trace& trace) {
  for (TraceEvent& event : trace.events) {
    const auto node = static_cast<std::size_t>(event.node);
    if (event.kind != EventKind::compute || event.tile < 0) continue;
    const backend::Launch& launch = launches.size() == 1 ? launches[0] : launches[node];
    if (nodes[node].kind == NodeKind::host || event.counted || !launch.kernel->work) continue;
    const Tile piece{event.tile, event.first, event.first + event.pixels};  // or the whole tile
    const double units = launch.kernel->work(launch.range(piece), launch.arguments);
    event.iterations = static_cast<std::uint64_t>(std::llround(std::max(0.0, units)));
  }
}

// A node with no implementation of `kernel` it can run is left out with a note when `fallback`
// allows it; otherwise the run fails in one line naming the node and what to do.
void leave_out_incapable_nodes(const std::vector<std::unique_ptr<Node>>& nodes,
                               const backend::KernelDefinition& kernel, bool fallback,
                               detail::RoundsInput& input, std::vector<std::string>& notes) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::string why;
    if (!input.active[i] || nodes[i]->can_run(kernel, why)) continue;
    if (!fallback) {
      throw UsageError(fmt::format(
          "{}: give the kernel that implementation, leave the node out, or pass --fallback "
          "(RuntimeOptions::fallback) to run its tiles on the other nodes",
          why));
    }
    input.active[i] = false;
    notes.push_back(fmt::format("{}; its tiles run on the other nodes (--fallback)", why));
  }
  if (std::none_of(input.active.begin(), input.active.end(), [](bool active) { return active; })) {
    throw UsageError(
        fmt::format("kernel '{}' has no implementation any node of this run can run "
                    "(it has {})",
                    kernel.name, kernel.families()));
  }
}

// The run's journal, when it has one: its counts are the run's. A resume marks the tiles the
// journal vouches for done, then goes on appending; every tile completed after is appended.
std::unique_ptr<detail::Journal> open_journal(const RunOptions& options,
                                              const std::string& identity, std::int64_t pixels,
                                              detail::RoundsInput& input,
                                              std::vector<std::string>& notes) {
  if (options.journal.empty()) return nullptr;
  std::unique_ptr<detail::Journal> journal;
  if (options.resume) {
    detail::JournalContents contents;
    journal = detail::Journal::resume(options.journal, identity, input.tiles, contents);
    input.done.assign(input.tiles.size(), false);
    for (const auto& entry : contents.tiles)
      input.done[static_cast<std::size_t>(entry.first)] = true;
    notes.push_back(fmt::format(
        "resumed {} of {} tiles from the journal{}", contents.tiles.size(), input.tiles.size(),
        contents.dropped_bytes == 0 ? std::string()
                                    : fmt::format("; dropped its torn or corrupt tail of {} bytes",
                                                  contents.dropped_bytes)));
  } else {
    journal = detail::Journal::start(options.journal, identity, pixels);
  }
  input.on_completed = [writer = journal.get()](const Tile& tile) { writer->append(tile); };
  return journal;
}

}  // namespace

RunResult Dispatcher::run(const Job& job, const RunOptions& options, Progress* progress) {
  ThroughputModel private_model;
  ThroughputModel& model = options.model != nullptr ? *options.model : private_model;
  const JobSpec& spec = job.spec();
  std::vector<std::string> notes;

  detail::RoundsInput input = nodes_of(nodes_);
  const bool automatic = options.policy == Policy::automatic && nodes_.size() > 1;
  if (automatic && fastest_on_shared_) {
    // Rates the model knows already decide now, so that tiles are sized for the nodes that run.
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const ThroughputEstimate estimate = model.estimate(input.infos[i], spec.precision, spec.mode);
      input.weights[i] = estimate.state == ModelState::calibrated ? estimate.giters : 0;
    }
    leave_out_slower_on_shared(input, "Giter/s", notes);
  }
  const bool resume = options.resume && !options.journal.empty();
  const std::int64_t tile_pixels =
      resume ? detail::journal_tile_pixels(options.journal)
      : options.tile_pixels > 0
          ? std::min(options.tile_pixels, job.pixels())
          : auto_tile_pixels(spec, total_lanes(input), has_device_nodes(input));
  input.tiles = make_tiles(job.pixels(), tile_pixels);
  if (progress != nullptr && progress->weigh_work) {
    input.tile_work = detail::sampled_tile_work(job, input.tiles);
  }
  // The journal before any compute: a path that cannot be read or written fails the run now.
  const std::unique_ptr<detail::Journal> journal = open_journal(
      options, detail::journal_identity(spec, tile_pixels), job.pixels(), input, notes);
  RunResult result;
  result.counts = journal ? journal->counts() : counts_for(nodes_, input.active, job.pixels());
  const std::span<std::uint32_t> counts(result.counts);

  // The job is the public Mandelbrot kernel: each host node runs its own tile kernel.
  std::vector<backend::Launch> launches;
  for (const NodeInfo& info : input.infos) {
    launches.push_back(detail::mandelbrot_launch(job, info.tile_kernel, counts));
  }
  weigh_nodes(nodes_, spec, options, model, input, notes);
  if (automatic) {
    if (fastest_on_shared_) leave_out_slower_on_shared(input, "Giter/s", notes);
    drop_slow_nodes(input, "Giter/s", notes);
  }
  use_static_shares(options, input);
  detail::Execution execution = detail::execute_rounds(
      input, options, progress, [&](std::size_t i, WorkSource& work, NodeTrace& trace) {
        nodes_[i]->launch(launches[i], work, trace);
      });
  notes.insert(notes.end(), execution.notes.begin(), execution.notes.end());
  // Every tile completed: the results go to the caller, and the journal needs no wait for the
  // disk (a stop or a failure throws, and the journal's destructor syncs it).
  if (journal) journal->close(/*sync=*/false);

  result.trace = std::move(execution.trace);
  count_work_performed(launches, input.infos, result.trace);
  Report& report = result.report;
  const CountsSummary summary = summarize_counts(counts, spec.max_iter);
  report = make_report(result.trace, input.infos, input.lanes, spec, options.policy, tile_pixels,
                       static_cast<std::int64_t>(input.tiles.size()), summary.checksum);
  report.peak_host_bytes = detail::peak_resident_bytes();
  report.tiles_rerun = execution.tiles_rerun;
  report.notes = std::move(notes);
  report.effective_iterations = summary.effective_iterations;
  complete_node_reports(report, nodes_, execution, std::vector<bool>(nodes_.size(), true));
  learn_and_rate(report, input, execution, spec, model);
  return result;
}

namespace {

// Per tile: the active node whose memory already holds the most bytes the tile reads or writes
// of registered arrays; -1 when none holds any. Empty when no tile has one.
std::vector<int> preferred_nodes(const backend::Launch& launch, const detail::RoundsInput& input,
                                 const std::vector<std::unique_ptr<Node>>& nodes) {
  std::vector<const MemorySpace*> spaces;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    spaces.push_back(input.active[i] ? nodes[i]->memory_space() : nullptr);
  }
  std::vector<int> preferred(input.tiles.size(), -1);
  bool any = false;
  for (const Tile& tile : input.tiles) {
    const backend::TileRange range = launch.range(tile);
    std::size_t most = 0;
    for (std::size_t i = 0; i < spaces.size(); ++i) {
      if (spaces[i] == nullptr) continue;
      std::size_t held = 0;
      for (const backend::ArgumentBinding& argument : launch.arguments) {
        if (!argument.array) continue;
        std::vector<backend::BlockRun> runs = backend::blocks_to_read(argument, range);
        runs.push_back(backend::blocks_written(argument, range));
        for (const backend::BlockRun run : runs)
          held += argument.array->resident_bytes(spaces[i], run);
      }
      if (held > most) {
        most = held;
        preferred[static_cast<std::size_t>(tile.index)] = static_cast<int>(i);
        any = true;
      }
    }
  }
  return any ? preferred : std::vector<int>{};
}

// Each planned node's predicted finish.
void record_predictions(Report& report, const detail::Forecast& plan) {
  for (std::size_t i = 0; i < report.nodes.size() && i < plan.finish_s.size(); ++i) {
    report.nodes[i].predicted_s = plan.finish_s[i];
  }
}

// When each node's last event in `trace` ended.
void record_finishes(Report& report, const Trace& trace) {
  for (const TraceEvent& event : trace.events) {
    const auto i = static_cast<std::size_t>(event.node);
    if (i < report.nodes.size()) {
      report.nodes[i].finished_s =
          std::max(report.nodes[i].finished_s, static_cast<double>(event.end_ns) * 1e-9);
    }
  }
}

}  // namespace

namespace {

// The nodes as the planner prices them: a measured link (probe or cache) at the bandwidth its
// copies achieved in the kernel's earlier runs, once learned; a link given in NodeOptions (a
// what-if study) as given.
std::vector<NodeInfo> links_as_learned(std::vector<NodeInfo> infos, const ThroughputModel& model,
                                       const std::string& kernel) {
  for (NodeInfo& info : infos) {
    Link& link = info.link;
    if (link.zero_copy || (link.source != "probe" && link.source != "cache")) continue;
    const double gbps = model.link_rate(kernel, info);
    if (gbps <= 0) continue;
    link.to_device_bytes_per_s = link.to_host_bytes_per_s = gbps * 1e9;
    link.source = "learned";
  }
  return infos;
}

// auto, with every rate known: the transfer-aware planner's shares; the nodes it leaves out
// are inactive for this run.
struct Planned {
  detail::Forecast forecast;
  std::vector<detail::NodeCost> costs;
};

Planned plan_shares(const std::vector<std::unique_ptr<Node>>& nodes, const backend::Launch& launch,
                    const std::vector<NodeInfo>& infos, const std::vector<double>& overhead_s,
                    bool one_per_resource, detail::RoundsInput& input,
                    std::vector<std::string>& notes) {
  std::vector<const void*> spaces;
  std::vector<double> rates;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    spaces.push_back(nodes[i]->memory_space());
    rates.push_back(input.weights[i] * 1e9);  // the model's Gunits/s
  }
  Planned planned;
  planned.costs = detail::launch_costs(launch, input.tiles, infos, spaces, rates, input.active);
  double units = 0;
  for (const Tile& tile : input.tiles) units += static_cast<double>(launch.work_units(tile));
  for (std::size_t i = 0; i < nodes.size(); ++i) planned.costs[i].ready_s = overhead_s[i];
  if (!one_per_resource) {
    for (detail::NodeCost& cost : planned.costs) cost.resource.clear();
  }
  planned.forecast = detail::forecast(planned.costs, units);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    input.weights[i] = planned.forecast.shares[i];
    input.active[i] = input.active[i] && planned.forecast.shares[i] > 0;
  }
  notes.insert(notes.end(), planned.forecast.notes.begin(), planned.forecast.notes.end());
  return planned;
}

}  // namespace

LaunchResult Dispatcher::launch(const backend::Launch& launch, const RunOptions& options,
                                Progress* progress) {
  ThroughputModel& model = options.model != nullptr ? *options.model : kernel_model_;
  std::vector<std::string> notes;
  detail::RoundsInput input = nodes_of(nodes_);
  const std::string& kernel = launch.kernel->name;
  // The kernel's identity in the model: its name, element types and the build it runs in.
  const std::string model_key =
      fmt::format("{}{}@{}", kernel, launch.kernel->signature, version_string);
  const std::vector<bool> taking_part = detail::node_mask(options.nodes, nodes_.size());
  input.active = taking_part;
  leave_out_incapable_nodes(nodes_, *launch.kernel, options.fallback, input, notes);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    input.weights[i] = input.active[i] ? model.kernel_rate(model_key, input.infos[i]) : 0;
  }
  std::int64_t tile = options.tile_pixels > 0
                          ? std::min(options.tile_pixels, launch.elements())
                          : auto_tile_elements(launch.width, launch.height, total_lanes(input));
  if (launch.dims() == 2) tile = std::max<std::int64_t>(1, tile / launch.width) * launch.width;
  const std::int64_t granule = launch.tile_granule();
  tile = (tile + granule - 1) / granule * granule;
  input.tiles = make_tiles(launch.elements(), tile);
  if (progress != nullptr) {
    for (const Tile& t : input.tiles) {
      input.tile_work.push_back(static_cast<double>(launch.work_units(t)));
    }
  }
  input.preferred = preferred_nodes(launch, input, nodes_);
  const bool weighted = options.policy == Policy::weighted || options.policy == Policy::automatic;
  detail::Forecast plan;
  if (weighted && std::count(input.active.begin(), input.active.end(), true) > 1) {
    bool all_known = true;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (input.active[i] && input.weights[i] <= 0) all_known = false;
    }
    if (!all_known) {
      // Rates are learned from runs; until every node has one, shares follow the lanes.
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        input.weights[i] = input.active[i] ? input.lanes[i] : 0;
      }
      notes.push_back(fmt::format(
          "kernel '{}' has not run on every node yet: shares follow the nodes' lanes", kernel));
    } else if (options.policy == Policy::automatic) {
      std::vector<double> overhead_s;
      for (const NodeInfo& info : input.infos) {
        overhead_s.push_back(model.run_overhead(model_key, info));
      }
      Planned planned = plan_shares(nodes_, launch, links_as_learned(input.infos, model, model_key),
                                    overhead_s, fastest_on_shared_, input, notes);
      for (const std::string& line : detail::explain(planned.forecast, planned.costs)) {
        if (options.explain) options.explain(line);
      }
      plan = std::move(planned.forecast);
    }
  }

  use_static_shares(options, input);
  detail::Execution execution = detail::execute_rounds(
      input, options, progress, [&](std::size_t i, WorkSource& work, NodeTrace& trace) {
        nodes_[i]->launch(launch, work, trace);
      });
  notes.insert(notes.end(), execution.notes.begin(), execution.notes.end());

  LaunchResult result;
  result.trace = std::move(execution.trace);
  count_work_performed({&launch, 1}, input.infos, result.trace);
  JobSpec space;
  space.preset = kernel;
  space.width = launch.width;
  space.height = launch.height;
  Report& report = result.report;
  report = make_report(result.trace, input.infos, input.lanes, space, options.policy, tile,
                       static_cast<std::int64_t>(input.tiles.size()), Checksum{});
  report.kernel = kernel;
  report.peak_host_bytes = detail::peak_resident_bytes();
  report.tiles_rerun = execution.tiles_rerun;
  report.notes = std::move(notes);
  complete_node_reports(report, nodes_, execution, taking_part);
  record_finishes(report, result.trace);
  if (!plan.finish_s.empty()) record_predictions(report, plan);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeReport& node = report.nodes[i];
    if (!node.failure.empty()) continue;
    // Planned runs only: a kernel's first runs on a node (before every rate is known, so not
    // planned) also build it there, a cost paid once.
    if (!plan.finish_s.empty() && node.tiles > 0) {
      model.record_run_overhead(model_key, input.infos[i],
                                node.finished_s - node.busy_s - node.transfer_s);
    }
    if (node.busy_s >= kMinKernelLearningBusySeconds && node.iterations > 0) {
      model.record_kernel_rate(model_key, input.infos[i],
                               static_cast<double>(node.iterations) / node.busy_s * 1e-9);
    }
    const std::uint64_t moved = node.bytes_to_device + node.bytes_to_host;
    if (!input.infos[i].link.zero_copy && moved >= kMinLearningLinkBytes && node.transfer_s > 0) {
      model.record_link_rate(model_key, input.infos[i],
                             static_cast<double>(moved) / node.transfer_s * 1e-9);
    }
  }
  return result;
}

}  // namespace hetero

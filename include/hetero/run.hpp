// What a run is asked and what it gives: its options, its live progress, its results.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "hetero/counts.hpp"
#include "hetero/job.hpp"
#include "hetero/model.hpp"
#include "hetero/policy.hpp"
#include "hetero/report.hpp"
#include "hetero/trace.hpp"

namespace hetero {

/// A fault injected for tests: the node at position `node` of the run fails after completing
/// `after_tiles` tiles.
/// A test hook: node `node` (its index in the run) fails after `after_tiles` tiles, or, with
/// `delay_us` > 0, is slowed instead: each tile it completes costs it that long more.
struct FaultInjection {
  std::size_t node = 0;
  std::int64_t after_tiles = 0;
  std::int64_t delay_us = 0;
};

struct RunOptions {
  Policy policy = Policy::dynamic;
  std::int64_t tile_pixels = 0;             ///< 0: chosen automatically
  const std::atomic<bool>* stop = nullptr;  ///< set to stop the run after the tiles in hand
  /// Throughput model used by weighted and auto (calibrating nodes it does not know) and
  /// taught by every run; nullptr: a model private to this run.
  ThroughputModel* model = nullptr;
  std::vector<FaultInjection> faults;  ///< test hook
  /// Static policy: each node's contiguous part of the space in proportion to these (one per
  /// node, in order); empty: in proportion to the nodes' lanes.
  std::vector<double> shares;
  /// Kernel runs under auto: receives the planner's prediction, a line per node, before any tile.
  std::function<void(std::string_view line)> explain;
  /// User kernels: a node with no implementation of the kernel is left out, with a note,
  /// instead of failing the run.
  bool fallback = false;
  /// User kernels: the nodes the run may use, by index (Dispatcher::nodes()); empty: every node.
  std::vector<std::size_t> nodes;
  /// The Mandelbrot job: a journal file every completed tile is appended to, so that an
  /// interrupted run can be resumed; empty: none. Its writes are batched, and synced to disk
  /// every 2 s and when the run stops or fails (a completed run's results are its output).
  std::filesystem::path journal;
  /// With `journal`: take the tiles that journal holds (a torn or corrupt tail is dropped),
  /// compute only the rest, with the journal's tile size, and go on appending to it. The
  /// journal must be of this very job.
  bool resume = false;
};

/// Live progress of a run, readable from any thread: tiles, and the work they stand for (a
/// kernel's work units; the Mandelbrot job's iterations as sampled before it runs, when
/// `weigh_work` asks for it: sampling costs about 8 points' iterations per tile).
struct Progress {
  std::atomic<std::int64_t> tiles_done{0};
  std::atomic<std::int64_t> tiles_total{0};
  bool weigh_work = false;
  std::atomic<double> work_done{0};
  std::atomic<double> work_total{0};
  /// The share of the work done: by work when it is known, else by tiles.
  double fraction() const;
};

struct RunResult {
  /// Row-major, width * height; with a journal, in the journal's file (mapped).
  Counts counts;
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

}  // namespace hetero

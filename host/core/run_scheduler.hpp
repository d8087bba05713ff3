// The order runs take effect in: a run waits for the earlier runs whose data it shares with a
// writer, and for its nodes; runs on disjoint data and disjoint nodes overlap.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "hetero/backend/launch.hpp"

namespace hetero::detail {

/// The host memory a run reads and writes: each array argument's bytes (registered arrays by
/// their host copy), and each reduction's result.
struct Footprint {
  struct Use {
    std::uintptr_t begin = 0, end = 0;
    bool writes = false;
  };
  std::vector<Use> uses;

  /// True when the two share bytes and at least one of them writes them.
  bool conflicts_with(const Footprint& other) const;
};

Footprint footprint_of(const backend::Launch& launch);

/// One flag per node: those `named` (indices into `count` nodes), or every node when `named` is
/// empty. Throws UsageError naming an index out of range.
std::vector<bool> node_mask(std::span<const std::size_t> named, std::size_t count);

/// Decides when runs start. A run starts once
/// - every earlier run whose footprint conflicts with its own has finished, and
/// - every node it uses is free and not wanted by an earlier run still waiting (so a run on
///   every node is never overtaken for ever by runs on some of them).
/// Runs entered with a body are run on the scheduler's own threads; the others by their caller
/// (wait_to_start, then finish). Thread-safe.
class RunScheduler {
 public:
  using Ticket = std::uint64_t;

  explicit RunScheduler(std::size_t nodes);
  /// Waits for every run entered to finish.
  ~RunScheduler();
  RunScheduler(const RunScheduler&) = delete;
  RunScheduler& operator=(const RunScheduler&) = delete;

  /// Enters a run using the nodes flagged in `nodes` (one flag per node). `body` must not throw;
  /// empty: the caller runs it.
  Ticket enter(Footprint footprint, std::vector<bool> nodes, std::function<void()> body = {});
  /// Blocks until the run may start (runs entered without a body).
  void wait_to_start(Ticket ticket);
  /// The run has ended: its nodes are free and the runs waiting on it may start.
  void finish(Ticket ticket);
  /// Whether the run has started (or finished).
  bool started(Ticket ticket) const;

 private:
  struct Entry {
    Ticket ticket = 0;
    Footprint footprint;
    std::vector<bool> nodes;
    std::function<void()> body;
    bool started = false;
  };

  struct Ready {
    Ticket ticket = 0;
    std::function<void()> body;
  };

  // Starts every run that may start now. `spare_threads`: threads about to look for a body
  // (the caller's own, when a thread of ours calls it).
  void start_ready_locked(std::size_t spare_threads);
  bool can_start_locked(std::size_t index, const std::vector<bool>& wanted) const;
  bool started_locked(Ticket ticket) const;
  void finish_locked(Ticket ticket, std::size_t spare_threads);
  void serve();

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Entry> entries_;  // entered and not finished, in the order entered
  std::vector<bool> busy_;     // per node: a started run uses it
  Ticket next_ticket_ = 1;
  std::deque<Ready> bodies_;  // started runs with a body, for the threads to take
  std::vector<std::thread> threads_;
  std::size_t idle_threads_ = 0;      // waiting for a body
  std::size_t starting_threads_ = 0;  // started, not yet waiting
  bool stopping_ = false;
};

}  // namespace hetero::detail

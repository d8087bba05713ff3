// The Runtime: the library's entry object. It finds and creates nodes from backend names, holds
// the options of its runs, and runs the user's kernels and the Mandelbrot job on those nodes. It
// prints nothing and writes no file unless the application opts in (a log sink).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "hetero/array.hpp"
#include "hetero/kernel.hpp"
#include "hetero/model.hpp"
#include "hetero/node.hpp"
#include "hetero/registry.hpp"
#include "hetero/run.hpp"
#include "hetero/scaling.hpp"

namespace hetero {

class Dispatcher;
namespace detail {
class RunScheduler;
}

/// One node exactly as asked: its backend and the options it is created with.
struct NodeSpec {
  std::string name;
  NodeOptions options;
};

struct RuntimeOptions {
  /// Backends to run on, as `hetero devices` names them, or {"all"}: every available one.
  std::vector<std::string> nodes = {"threads"};
  /// Nodes created exactly as given, each with its own options (a scaling study's 1, 2, 4
  /// workers): no "all", no split of the CPU. When not empty, `nodes`, `node_options` and
  /// `share` are not used.
  std::vector<NodeSpec> exact_nodes;
  NodeOptions node_options;  ///< workers, device selector, device memory cap
  /// Nodes on the same hardware run as asked; by default they split it (see plan_nodes).
  bool share = false;
  /// For runs under auto (without `share`): nodes on the same hardware each get all of it, and
  /// each run under auto keeps only the one predicted fastest there (the others are left out
  /// with a note), so that auto does no worse than that node alone. Runs under other policies
  /// then run them all at once, oversubscribed. With `exact_nodes`, nodes are created as given
  /// and runs under auto still keep one per resource.
  bool fastest_on_shared = false;
  /// A backend that cannot run here, or a node with no implementation of a kernel, is left out
  /// and the others take its tiles, with a note. Without it, either is an error.
  bool fallback = false;
  /// Receives one line for each thing worth telling (a node left out, the CPU split); empty:
  /// the runtime says nothing. Called by one thread at a time, also when runs overlap.
  std::function<void(std::string_view line)> log;
  /// Learns each node's throughput; nullptr: a model of the runtime's own, in memory only.
  ThroughputModel* model = nullptr;
};

/// Repeated runs of one job: the spread of their wall times and the last run's result.
struct TimedRuns {
  TimingSummary timing;
  RunResult last;
};

/// How one run of a kernel is dispatched.
struct LaunchOptions {
  /// auto: once every node's rate is learned, the transfer-aware planner sets the shares (see
  /// Report's predicted_s); until then, shares follow the lanes.
  Policy policy = Policy::dynamic;
  std::int64_t tile = 0;  ///< elements per tile (2-D: rounded down to whole rows); 0: automatic
  const std::atomic<bool>* stop = nullptr;  ///< set to stop after the tiles in hand
  /// Receives the planner's prediction, one line per node, before any tile runs.
  std::function<void(std::string_view line)> explain;
  /// Static: each node's contiguous part in proportion to these (one per node); empty: lanes.
  std::vector<double> shares;
  std::vector<FaultInjection> faults;  ///< test hook (see RunOptions)
  /// The nodes the run may use, by their index in Runtime::nodes(); empty: every node. Submitted
  /// runs on disjoint nodes that share no written data run at the same time.
  std::vector<std::size_t> nodes;
};

namespace detail {
template <class TileT>
struct GridOf {
  using type = Grid1D;
};
template <>
struct GridOf<Tile2D> {
  using type = Grid2D;
};
}  // namespace detail

class Runtime;

/// A run submitted to a Runtime: wait() blocks until it is done and gives its result (or
/// rethrows its error). The arrays it reads and writes must live until then.
class RunHandle {
 public:
  RunHandle() = default;
  const LaunchResult& wait() const { return result_.get(); }
  bool ready() const {
    return result_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

 private:
  friend class Runtime;
  explicit RunHandle(std::shared_future<LaunchResult> result) : result_(std::move(result)) {}
  std::shared_future<LaunchResult> result_;
};

class Runtime {
 public:
  /// Creates the nodes `options.nodes` names. Throws UsageError (one line) for an unknown name,
  /// or a backend that cannot run here unless `fallback` is set.
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Takes part in an MPI job when an MPI launcher started this program. Call it first in
  /// main(), with every kernel rank 0 may run on the mpi node:
  ///
  ///     if (auto status = hetero::Runtime::serve(argc, argv, saxpy)) return *status;
  ///
  /// It removes `--rank-backend NAME` from argv (the local backend the other ranks compute
  /// with; default threads). Without MPI, and on rank 0, it returns nullopt: the program goes
  /// on, and its Runtimes may use the mpi node. Every other rank computes the tiles rank 0
  /// sends it, finding the kernels given here (and hetero::mandelbrot_kernel) by name, until
  /// rank 0's program ends; then it returns the exit status. An error starting MPI is one line
  /// to the log sink (set_log_sink) and a non-zero status.
  template <class... Kernels>
  static std::optional<int> serve(int& argc, char** argv, const Kernels&... kernels) {
    return serve_kernels(argc, argv, {kernels.definition()...});
  }
  /// serve() with the kernels' definitions; throws UsageError when two differ but share a name.
  static std::optional<int> serve_kernels(
      int& argc, char** argv,
      const std::vector<std::shared_ptr<const backend::KernelDefinition>>& kernels);

  /// The nodes this runtime runs on, in order.
  std::vector<NodeInfo> nodes() const;
  /// What planning the nodes decided: CPU splits, nodes dropped, backends fallen back from.
  const std::vector<std::string>& notes() const { return notes_; }
  /// Backends asked for that could not run here (with `fallback`).
  const std::vector<UnavailableNode>& unavailable() const { return unavailable_; }

  /// Runs `kernel` over `grid` with `arguments` bound to its parameters in order (read, read
  /// slice and write arrays, scalars by value), optionally followed by LaunchOptions. Blocks
  /// until every tile is done; it starts, like a submitted run, once the earlier runs it
  /// depends on are done (see submit). Bad shapes get a one-line UsageError naming the kernel
  /// and the argument; a node without an implementation one naming the node (see `fallback`).
  /// A run on one host node drives it from the calling thread; with several nodes, or a device
  /// node (whose runtime may keep per-thread state), each node is driven from a thread of its own.
  template <class TileT, class... Params, class... Args>
  LaunchResult run(const Kernel<TileT, Params...>& kernel,
                   typename detail::GridOf<TileT>::type grid, Args&&... arguments) {
    return launch(prepare(kernel, grid, std::forward<Args>(arguments)...));
  }

  /// The same, returning at once. Runs take effect in the order they were submitted: a run
  /// starts once every earlier run that writes what it reads or writes, or reads what it
  /// writes, is done, and once its nodes (LaunchOptions::nodes) are free and not wanted by an
  /// earlier run still waiting. So runs on disjoint nodes that share no written data overlap.
  template <class TileT, class... Params, class... Args>
  RunHandle submit(const Kernel<TileT, Params...>& kernel,
                   typename detail::GridOf<TileT>::type grid, Args&&... arguments) {
    return enqueue(prepare(kernel, grid, std::forward<Args>(arguments)...));
  }

  /// Runs the Mandelbrot job on the nodes.
  RunResult run(const Job& job, const RunOptions& options = {}, Progress* progress = nullptr);
  /// Runs `job` `warmup` times untimed, then `repeat` times timed (each run's wall time).
  /// Throws Cancelled when `options.stop` ends a run.
  TimedRuns time(const Job& job, const RunOptions& options, int warmup, int repeat);
  /// The lanes of every node together.
  int lanes() const;

 private:
  struct Prepared {
    backend::Launch launch;
    LaunchOptions options;
  };

  template <class TileT, class... Params, class... Args>
  static Prepared prepare(const Kernel<TileT, Params...>& kernel,
                          typename detail::GridOf<TileT>::type grid, Args&&... arguments) {
    Prepared prepared;
    prepared.launch.kernel = kernel.definition();
    if constexpr (std::is_same_v<TileT, Tile2D>) {
      prepared.launch.width = grid.width;
      prepared.launch.height = grid.height;
    } else {
      prepared.launch.width = grid.size;
      prepared.launch.height = 1;
    }
    constexpr std::size_t kParams = sizeof...(Params);
    static_assert(sizeof...(Args) == kParams || sizeof...(Args) == kParams + 1,
                  "the number of arguments differs from the kernel's parameters");
    auto all = std::forward_as_tuple(std::forward<Args>(arguments)...);
    if constexpr (sizeof...(Args) == kParams + 1) {
      static_assert(
          std::is_same_v<std::remove_cvref_t<std::tuple_element_t<kParams, decltype(all)>>,
                         LaunchOptions>,
          "the argument after the kernel's parameters must be hetero::LaunchOptions");
      prepared.options = std::get<kParams>(all);
    }
    prepared.launch.arguments = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return Kernel<TileT, Params...>::bind(std::get<I>(all)...);
    }
    (std::make_index_sequence<kParams>{});
    return prepared;
  }

  LaunchResult launch(const Prepared& prepared);
  RunHandle enqueue(Prepared prepared);
  LaunchResult launch_now(const Prepared& prepared);
  std::vector<bool> nodes_of(const Prepared& prepared) const;
  void say(std::string_view line) const;

  RuntimeOptions options_;
  mutable std::mutex log_mutex_;  // one line at a time into options_.log
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::string> notes_;
  std::vector<UnavailableNode> unavailable_;
  ThroughputModel own_model_;
  // Every run, blocking or submitted, starts when it may (destroyed first: it waits for them).
  std::unique_ptr<detail::RunScheduler> scheduler_;
};

/// Checks a launch's arguments against its index space before any node runs: slices must cover
/// the space, 2-D shapes must match it, pitches hold their rows. Throws UsageError naming the
/// kernel and the argument.
void validate_launch(const backend::Launch& launch);

}  // namespace hetero

// The Runtime: nodes from names, checked launches, runs started in the order their data and
// nodes allow.
#include "hetero/runtime.hpp"

#include <fmt/format.h>

#include "core/mandelbrot_launch.hpp"
#include "core/run_scheduler.hpp"
#include "hetero/backend/dispatcher.hpp"
#include "hetero/error.hpp"
#include "nodes/mpi/launch.hpp"

namespace hetero {
namespace {

// Names as the registry knows them: "all" becomes every available backend (saying which it left
// out); with `fallback`, those named that cannot run here are set aside in `unavailable`.
std::vector<std::string> resolve_names(const RuntimeOptions& options,
                                       std::vector<UnavailableNode>& unavailable,
                                       std::vector<std::string>& notes) {
  const NodeRegistry& registry = NodeRegistry::builtin();
  std::vector<std::string> names;
  for (const std::string& entry : options.nodes) {
    if (entry == "all") {
      const BackendChoice all = choose_backends(entry, registry, options.node_options, false);
      names.insert(names.end(), all.names.begin(), all.names.end());
      notes.insert(notes.end(), all.notes.begin(), all.notes.end());
      continue;
    }
    const std::vector<std::string> parsed =
        parse_backend_list(entry, registry, options.node_options);
    names.insert(names.end(), parsed.begin(), parsed.end());
  }
  if (names.empty()) {
    throw UsageError("no backend is available to run on (`hetero devices` says why for each)");
  }
  if (options.fallback) {
    const FallbackChoice choice = fall_back_to_available(names, registry, options.node_options);
    unavailable = choice.unavailable;
    const std::vector<std::string> fallback_notes = choice.notes();
    notes.insert(notes.end(), fallback_notes.begin(), fallback_notes.end());
    names = choice.names;
  }
  return names;
}

std::string shape_of(const backend::ArgumentBinding& argument) {
  return argument.height > 1 ? fmt::format("{}x{}", argument.width, argument.height)
                             : fmt::format("{}", argument.width);
}

// A registered array: the host holds no access the launch conflicts with, and an array that
// is written appears once among the arguments.
void check_registered(const backend::Launch& launch, std::size_t index) {
  const backend::ArgumentBinding& argument = launch.arguments[index];
  const bool writes = backend::writes_slice(argument.access);
  const std::string what = fmt::format("kernel '{}', argument {}", launch.kernel->name, index + 1);
  argument.array->check_no_host_access(writes, what);
  for (std::size_t j = 0; j < launch.arguments.size(); ++j) {
    const backend::ArgumentBinding& other = launch.arguments[j];
    if (j == index || other.array != argument.array) continue;
    if (writes || backend::writes_slice(other.access)) {
      throw UsageError(
          fmt::format("{}: {} is also argument {} and one of them writes it; pass it once, with "
                      "hetero::read_write",
                      what, argument.array->label(), j + 1));
    }
  }
}

// Counts the registered arrays `launch` writes as pending (delta +1 at submit, -1 when done).
void count_pending_writes(const backend::Launch& launch, int delta) {
  for (const backend::ArgumentBinding& argument : launch.arguments) {
    if (argument.array && backend::writes_slice(argument.access)) {
      argument.array->add_pending_writer(delta);
    }
  }
}

// Gives each reduction of `launch` its partials: one per chunk of the space, each the op's
// identity.
void make_partials(backend::Launch& launch) {
  for (backend::ArgumentBinding& argument : launch.arguments) {
    if (!argument.reduction || argument.chunk < 1) continue;
    const std::int64_t count = (launch.elements() + argument.chunk - 1) / argument.chunk;
    argument.array = argument.reduction->make_partials(count);
    argument.data = argument.array->host();
    argument.width = argument.pitch = count;
    argument.height = 1;
  }
}

// Brings each reduction's partials to the host and folds them, in chunk order, into its result.
void fold_partials(const backend::Launch& launch) {
  for (const backend::ArgumentBinding& argument : launch.arguments) {
    if (!argument.reduction) continue;
    argument.array->make_host_valid(argument.array->all_blocks(), nullptr);
    argument.reduction->combine(argument.array->host(), argument.width);
  }
}

}  // namespace

void validate_launch(const backend::Launch& launch) {
  const backend::KernelDefinition& kernel = *launch.kernel;
  if (launch.width < 0 || launch.height < 1 || (launch.dims() == 1 && launch.height != 1)) {
    throw UsageError(fmt::format("kernel '{}': the index space {}x{} is not a {}-D space",
                                 kernel.name, launch.width, launch.height, launch.dims()));
  }
  for (std::size_t i = 0; i < launch.arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = launch.arguments[i];
    if (!argument.is_array) continue;
    if (argument.reduction && argument.chunk < 1) {
      throw UsageError(
          fmt::format("kernel '{}', argument {} (reduce): chunks of {} elements; give "
                      "1 or more",
                      kernel.name, i + 1, argument.chunk));
    }
    const auto what = [&] {
      return fmt::format("kernel '{}', argument {} ({})", kernel.name, i + 1,
                         to_string(argument.access));
    };
    if (argument.width < 0 || argument.height < 1 || argument.pitch < argument.width) {
      throw UsageError(fmt::format("{}: rows of {} elements cannot be {} elements apart", what(),
                                   argument.width, argument.pitch));
    }
    if (argument.data == nullptr && argument.elements() > 0) {
      throw UsageError(fmt::format("{}: the array has no data", what()));
    }
    if (argument.halo < 0) {
      throw UsageError(
          fmt::format("{}: a halo of {} is negative; give 0 or more", what(), argument.halo));
    }
    const std::int64_t extent = launch.dims() == 1 ? argument.width : argument.height;
    if (argument.halo > extent) {
      throw UsageError(fmt::format("{}: a halo of {} {} is larger than the array's {}", what(),
                                   argument.halo, launch.dims() == 1 ? "elements" : "rows",
                                   extent));
    }
    if (argument.array) check_registered(launch, i);
    if (argument.array && !argument.reduction && kernel.work &&
        backend::writes_slice(argument.access)) {
      throw UsageError(fmt::format(
          "{}: the kernel counts its work from its results (Kernel::work), which reads them in "
          "host memory; pass a plain host array here, not a hetero::Array",
          what()));
    }
    if (argument.access == Access::read_whole || argument.reduction) continue;
    if (launch.dims() == 1 && argument.width < launch.width) {
      throw UsageError(fmt::format(
          "{}: the array has {} elements, fewer than the {} of the index space; pass an array "
          "of at least {} elements",
          what(), argument.width, launch.width, launch.width));
    }
    if (launch.dims() == 2 &&
        (argument.width != launch.width || argument.height != launch.height)) {
      throw UsageError(fmt::format(
          "{}: the array is {}, the index space {}x{}; slices need an array of the space's shape",
          what(), shape_of(argument), launch.width, launch.height));
    }
  }
}

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)) {
  if (!options_.exact_nodes.empty()) {
    std::vector<std::unique_ptr<Node>> nodes;
    for (const NodeSpec& spec : options_.exact_nodes) {
      nodes.push_back(NodeRegistry::builtin().create(spec.name, spec.options));
    }
    dispatcher_ = std::make_unique<Dispatcher>(std::move(nodes));
    dispatcher_->keep_fastest_on_shared(options_.fastest_on_shared && !options_.share);
    scheduler_ = std::make_unique<detail::RunScheduler>(dispatcher_->nodes().size());
    return;
  }
  const std::vector<std::string> names = resolve_names(options_, unavailable_, notes_);
  const Sharing sharing = options_.share               ? Sharing::all
                          : options_.fastest_on_shared ? Sharing::fastest
                                                       : Sharing::split;
  const NodePlan plan = plan_nodes(names, options_.node_options, sharing, NodeRegistry::builtin());
  notes_.insert(notes_.end(), plan.notes.begin(), plan.notes.end());
  std::vector<std::unique_ptr<Node>> nodes;
  for (std::size_t i = 0; i < plan.names.size(); ++i) {
    nodes.push_back(NodeRegistry::builtin().create(plan.names[i], plan.options[i]));
  }
  dispatcher_ = std::make_unique<Dispatcher>(std::move(nodes));
  dispatcher_->keep_fastest_on_shared(sharing == Sharing::fastest);
  scheduler_ = std::make_unique<detail::RunScheduler>(dispatcher_->nodes().size());
  for (const std::string& note : notes_) say(note);
}

std::optional<int> Runtime::serve_kernels(
    int& argc, char** argv,
    const std::vector<std::shared_ptr<const backend::KernelDefinition>>& kernels) {
  // The library's own kernels first: ranks run the Mandelbrot job's through the mpi node too.
  // (Made only for an MPI job: they cost a program's start-up otherwise.)
  if (nodes::mpi::mpi_job_asked(argc, argv)) detail::register_mandelbrot_kernels();
  for (const auto& kernel : kernels) backend::register_kernel(kernel);
  return nodes::mpi::launch(argc, argv);
}

Runtime::~Runtime() {
  scheduler_.reset();
}

std::vector<NodeInfo> Runtime::nodes() const {
  std::vector<NodeInfo> infos;
  for (const auto& node : dispatcher_->nodes()) infos.push_back(node->info());
  return infos;
}

void Runtime::say(std::string_view line) const {
  if (!options_.log) return;
  const std::lock_guard lock(log_mutex_);
  options_.log(line);
}

namespace {

// Holds a run's place in the scheduler from its start to its end.
class ScheduledRun {
 public:
  ScheduledRun(detail::RunScheduler& scheduler, detail::Footprint footprint,
               std::vector<bool> nodes)
      : scheduler_(scheduler), ticket_(scheduler.enter(std::move(footprint), std::move(nodes))) {
    scheduler_.wait_to_start(ticket_);
  }
  ~ScheduledRun() { scheduler_.finish(ticket_); }
  ScheduledRun(const ScheduledRun&) = delete;
  ScheduledRun& operator=(const ScheduledRun&) = delete;

 private:
  detail::RunScheduler& scheduler_;
  detail::RunScheduler::Ticket ticket_;
};

}  // namespace

RunResult Runtime::run(const Job& job, const RunOptions& options, Progress* progress) {
  // The job's counts are its own: it waits only for its nodes (all of them).
  const ScheduledRun scheduled(*scheduler_, {},
                               std::vector<bool>(dispatcher_->nodes().size(), true));
  RunOptions run_options = options;
  if (run_options.model == nullptr)
    run_options.model = options_.model ? options_.model : &own_model_;
  RunResult result = dispatcher_->run(job, run_options, progress);
  result.report.notes.insert(result.report.notes.begin(), notes_.begin(), notes_.end());
  result.report.unavailable = unavailable_;
  return result;
}

TimedRuns Runtime::time(const Job& job, const RunOptions& options, int warmup, int repeat) {
  TimedRuns runs;
  std::vector<double> seconds;
  for (int i = 0; i < warmup + repeat; ++i) {
    runs.last = run(job, options);
    if (i >= warmup) seconds.push_back(runs.last.report.wall_s);
  }
  runs.timing = summarize(std::move(seconds));
  return runs;
}

int Runtime::lanes() const {
  int lanes = 0;
  for (const auto& node : dispatcher_->nodes()) lanes += node->lanes();
  return lanes;
}

std::vector<bool> Runtime::nodes_of(const Prepared& prepared) const {
  return detail::node_mask(prepared.options.nodes, dispatcher_->nodes().size());
}

LaunchResult Runtime::launch(const Prepared& prepared) {
  const ScheduledRun scheduled(*scheduler_, detail::footprint_of(prepared.launch),
                               nodes_of(prepared));
  return launch_now(prepared);
}

LaunchResult Runtime::launch_now(const Prepared& prepared) {
  backend::Launch launch = prepared.launch;
  make_partials(launch);
  validate_launch(launch);
  RunOptions options;
  options.policy = prepared.options.policy;
  options.tile_pixels = prepared.options.tile;
  options.stop = prepared.options.stop;
  options.explain = prepared.options.explain;
  options.shares = prepared.options.shares;
  options.faults = prepared.options.faults;
  options.model = options_.model != nullptr ? options_.model : &own_model_;
  options.fallback = options_.fallback;
  options.nodes = prepared.options.nodes;
  LaunchResult result = dispatcher_->launch(launch, options);
  fold_partials(launch);
  for (const std::string& note : result.report.notes) say(note);
  result.report.notes.insert(result.report.notes.begin(), notes_.begin(), notes_.end());
  result.report.unavailable = unavailable_;
  return result;
}

RunHandle Runtime::enqueue(Prepared prepared) {
  std::vector<bool> nodes = nodes_of(prepared);
  detail::Footprint footprint = detail::footprint_of(prepared.launch);
  count_pending_writes(prepared.launch, +1);
  auto done = std::make_shared<std::promise<LaunchResult>>();
  RunHandle handle(done->get_future().share());
  scheduler_->enter(std::move(footprint), std::move(nodes),
                    [this, prepared = std::move(prepared), done] {
                      try {
                        LaunchResult result = launch_now(prepared);
                        count_pending_writes(prepared.launch, -1);
                        done->set_value(std::move(result));
                      } catch (...) {
                        count_pending_writes(prepared.launch, -1);
                        done->set_exception(std::current_exception());
                      }
                    });
  return handle;
}

}  // namespace hetero

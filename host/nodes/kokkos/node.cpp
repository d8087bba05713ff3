// The kokkos node.
#include "node.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "../host_kernel.hpp"
#include "core/host_info.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "mandelbrot.hpp"

namespace hetero::nodes {

using ExecutionSpace = Kokkos::DefaultExecutionSpace;
using SpaceMemory = ExecutionSpace::memory_space;
template <class T>
using SpaceView = Kokkos::View<T*, SpaceMemory>;
template <class T>
using HostView = Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

struct KokkosViews {
  SpaceView<double> xs64, ys64;
  SpaceView<float> xs32, ys32;
  SpaceView<std::uint32_t> counts;  ///< one tile's counts; grown to the largest tile seen

  template <class Real>
  std::pair<SpaceView<Real>&, SpaceView<Real>&> axes() {
    if constexpr (std::is_same_v<Real, double>) {
      return {xs64, ys64};
    } else {
      return {xs32, ys32};
    }
  }
};

namespace {

constexpr bool kHostAccessible =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, SpaceMemory>::accessible;
constexpr std::string_view kAxesLabel = "axes (Kokkos::deep_copy)";
constexpr std::string_view kCountsLabel = "counts (Kokkos::deep_copy)";

std::string kokkos_version() {
  return fmt::format("{}.{}.{}", KOKKOS_VERSION / 10000, KOKKOS_VERSION / 100 % 100,
                     KOKKOS_VERSION % 100);
}

bool serial_space() {
  return std::string_view(ExecutionSpace::name()) == "Serial";
}

/// Host threads Kokkos is started with for these options; -1 leaves the choice to Kokkos.
int requested_threads(const NodeOptions& options) {
  if (serial_space()) return -1;
  if (options.workers > 0) return options.workers;
  return kHostAccessible ? detail::host_hardware_threads() : -1;
}

/// The device a device execution space starts on; -1 for Kokkos' default.
int requested_device(const NodeOptions& options) {
  if (kHostAccessible || options.device.empty()) return -1;
  int device = -1;
  const char* end = options.device.data() + options.device.size();
  const auto [last, error] = std::from_chars(options.device.data(), end, device);
  if (error != std::errc{} || last != end || device < 0) {
    throw UsageError(
        fmt::format("kokkos: --device '{}' is not a device number (0, 1, ...)", options.device));
  }
  return device;
}

/// A Kokkos error as one line.
Error kokkos_error(std::string_view what) {
  std::string line = fmt::format("Kokkos: {}", what);
  std::replace(line.begin(), line.end(), '\n', ' ');
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return Error(line);
}

/// Owns Kokkos for the whole process: one thread initialises it, runs the work the kokkos
/// nodes submit (whole runs, one at a time, in submission order) and finalises it at exit,
/// after the queue is drained. Kokkos 3.4's host spaces must not be launched from arbitrary
/// threads at once: OpenMP launches only from the thread that initialised it, and Serial
/// keeps its reduction scratch in global state. Funnelling every Kokkos call through this
/// thread lets any proxy thread, and several kokkos nodes in one run, use Kokkos safely.
class KokkosRuntime {
 public:
  /// The runtime, started on the first call (thread-safe) with `threads` host threads on
  /// `device`. Throws Error if Kokkos fails to initialise, or after the runtime was shut down.
  static KokkosRuntime& start(int threads, int device);
  /// The runtime while it runs (started and not yet shut down at exit), else nullptr.
  static KokkosRuntime* running() { return instance_.load(std::memory_order_acquire); }

  /// Concurrency of the default execution space, as Kokkos reports it.
  int concurrency() const { return concurrency_; }

  /// Runs f() on the Kokkos thread and returns its result. Its exceptions are rethrown here,
  /// Kokkos' own as an Error with a one-line message.
  template <class F>
  std::invoke_result_t<F&> call(F&& f) {
    using Result = std::invoke_result_t<F&>;
    if (std::this_thread::get_id() == thread_.get_id()) return f();
    auto task = std::make_shared<std::packaged_task<Result()>>([&f] { return f(); });
    std::future<Result> result = task->get_future();
    post([task] { (*task)(); });
    try {
      return result.get();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw kokkos_error(e.what());
    }
  }

 private:
  KokkosRuntime() = default;
  void post(std::function<void()> task);
  void loop(int threads, int device, std::promise<void>* ready);
  static void shutdown();

  static inline std::atomic<KokkosRuntime*> instance_{nullptr};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool owns_kokkos_ = false;  // false when the application initialised Kokkos itself
  int concurrency_ = 1;
  std::thread thread_;
};

KokkosRuntime& KokkosRuntime::start(int threads, int device) {
  static std::mutex start_mutex;
  static KokkosRuntime* runtime = nullptr;  // never deleted: shut down at exit instead
  static std::exception_ptr failure;
  std::lock_guard lock(start_mutex);
  if (failure) std::rethrow_exception(failure);
  if (runtime == nullptr) {
    auto created = std::unique_ptr<KokkosRuntime>(new KokkosRuntime);
    std::promise<void> ready;
    std::future<void> initialised = ready.get_future();
    created->thread_ = std::thread(&KokkosRuntime::loop, created.get(), threads, device, &ready);
    try {
      initialised.get();
    } catch (...) {
      created->thread_.join();
      std::string what = "unknown error";
      try {
        throw;
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      failure = std::make_exception_ptr(kokkos_error(fmt::format(
          "initialising the {} execution space failed: {}", ExecutionSpace::name(), what)));
      std::rethrow_exception(failure);
    }
    runtime = created.release();
    instance_.store(runtime, std::memory_order_release);
    // Registered after Kokkos started, so it runs before the destructors of statics that
    // were constructed earlier; every node's Views are released by then in a normal exit.
    std::atexit(&KokkosRuntime::shutdown);
  }
  if (running() == nullptr) {
    throw Error("Kokkos was finalised at exit; no kokkos node can start after that");
  }
  return *runtime;
}

void KokkosRuntime::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw Error("Kokkos was finalised at exit; the kokkos node cannot run");
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void KokkosRuntime::loop(int threads, int device, std::promise<void>* ready) {
  try {
    if (!Kokkos::is_initialized()) {
#if KOKKOS_VERSION >= 30700
      Kokkos::InitializationSettings settings;
      settings.set_disable_warnings(true);
      if (threads > 0) settings.set_num_threads(threads);
      if (device >= 0) settings.set_device_id(device);
      Kokkos::initialize(settings);
#else
      Kokkos::initialize(Kokkos::InitArguments(threads, -1, device, /*disable_warnings=*/true));
#endif
      owns_kokkos_ = true;
    }
    concurrency_ = ExecutionSpace().concurrency();
  } catch (...) {
    ready->set_exception(std::current_exception());
    return;
  }
  ready->set_value();  // `ready` is gone from here on

  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and every submitted call has run
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
  lock.unlock();
  if (owns_kokkos_) Kokkos::finalize();
}

void KokkosRuntime::shutdown() {
  KokkosRuntime* runtime = instance_.exchange(nullptr, std::memory_order_acq_rel);
  if (runtime == nullptr) return;
  {
    std::lock_guard lock(runtime->mutex_);
    runtime->stopping_ = true;
  }
  runtime->wake_.notify_one();
  runtime->thread_.join();
}

/// One pixel per index of the tile's range; the reduction sums the iterations performed.
template <class Real, kernels::Arith A>
struct TileFunctor {
  Kokkos::View<const Real*, SpaceMemory> xs, ys;
  SpaceView<std::uint32_t> out;  ///< out(p - begin) is pixel p's count
  std::int64_t width = 1;
  std::int64_t begin = 0;
  std::uint32_t max_iter = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t pixel,
                                         std::uint64_t& iterations) const {
    const std::int64_t row = pixel / width;
    const std::int64_t col = pixel - row * width;
    const std::uint32_t count = kernels::point<Real, A>(xs(col), ys(row), max_iter);
    out(pixel - begin) = count;
    iterations += kernels::iterations_of(count, max_iter);
  }
};

/// One run of the node; called on the Kokkos thread, which then owns `lane` until it returns.
template <class Real, kernels::Arith A>
void run_typed(const Job& job, WorkSource& work, std::span<std::uint32_t> counts, TraceLane& lane,
               KokkosViews& views) {
  const AxesView<Real> axes = job.axes<Real>();
  const auto width = static_cast<std::size_t>(axes.width);
  const auto height = static_cast<std::size_t>(axes.height);

  // The axes travel to the node's memory once per run.
  auto [xs, ys] = views.axes<Real>();
  if (xs.extent(0) != width) {
    xs = SpaceView<Real>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "hetero xs"), width);
  }
  if (ys.extent(0) != height) {
    ys = SpaceView<Real>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "hetero ys"), height);
  }
  const std::int64_t upload_begin = lane.now_ns();
  Kokkos::deep_copy(xs, HostView<const Real>(axes.xs, width));
  Kokkos::deep_copy(ys, HostView<const Real>(axes.ys, height));
  Kokkos::fence();
  lane.copy(EventKind::copy_to_device, std::string(kAxesLabel), (width + height) * sizeof(Real),
            upload_begin, lane.now_ns());

  using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::Schedule<Kokkos::Dynamic>,
                                     Kokkos::IndexType<std::int64_t>>;
  auto run_tile = [&](const Tile& tile) {
    const auto pixels = static_cast<std::size_t>(tile.size());
    if (views.counts.extent(0) < pixels) {
      views.counts = SpaceView<std::uint32_t>();  // release the old one first
      views.counts = SpaceView<std::uint32_t>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "hetero counts"), pixels);
    }
    const TileFunctor<Real, A> functor{xs,         ys,         views.counts,
                                       axes.width, tile.begin, job.max_iter()};
    std::uint64_t iterations = 0;
    const std::int64_t begin = lane.now_ns();
    Kokkos::parallel_reduce("hetero::kokkos tile", Policy(tile.begin, tile.end), functor,
                            iterations);
    Kokkos::fence();
    const std::int64_t computed = lane.now_ns();
    lane.compute(tile, begin, computed, iterations);
    Kokkos::deep_copy(
        HostView<std::uint32_t>(counts.data() + tile.begin, pixels),
        Kokkos::subview(views.counts, std::pair<std::size_t, std::size_t>(0, pixels)));
    lane.copy(EventKind::copy_to_host, std::string(kCountsLabel), pixels * sizeof(std::uint32_t),
              computed, lane.now_ns(), tile.index);
    work.completed(tile);
  };

  for_each_tile(work, 0, 1, run_tile);
}

}  // namespace

NodeInfo KokkosNode::describe(const NodeOptions& options) {
  NodeInfo info;
  info.name = "kokkos";
  info.kind = kHostAccessible ? NodeKind::host : NodeKind::device;
  int concurrency = 0;  // 0: a device space's concurrency is known once Kokkos starts
  if (const KokkosRuntime* runtime = KokkosRuntime::running()) {
    concurrency = runtime->concurrency();
  } else if (serial_space()) {
    concurrency = 1;
  } else if (kHostAccessible) {
    concurrency = requested_threads(options);
  }
  const std::string space =
      fmt::format("Kokkos {} {} execution space, {}", kokkos_version(), ExecutionSpace::name(),
                  concurrency > 0 ? fmt::format("concurrency {}", concurrency)
                                  : std::string("concurrency known once Kokkos starts"));
  if constexpr (kHostAccessible) {
    info.device = fmt::format("{} ({})", detail::host_cpu_name(), space);
    info.resource = "host-cpu";
  } else {
    info.device = space;
    info.resource = fmt::format("kokkos-{}", ExecutionSpace::name());
    info.link.zero_copy = false;
    info.link.source = "not measured";
  }
  // A host space's concurrency is the hardware threads the node occupies; a device node's is
  // the one lane it records on. Before Kokkos starts, the workers option sets the former.
  info.concurrency = kHostAccessible ? std::max(1, concurrency) : 1;
  if constexpr (kHostAccessible) info.tile_kernel = "scalar";
  info.adjustable_workers =
      kHostAccessible && !serial_space() && KokkosRuntime::running() == nullptr;
  info.available = true;
  return info;
}

KokkosNode::KokkosNode(const NodeOptions& options) {
  KokkosRuntime& runtime =
      KokkosRuntime::start(requested_threads(options), requested_device(options));
  info_ = describe(options);
  views_ = runtime.call([] { return std::make_unique<KokkosViews>(); });
}

KokkosNode::~KokkosNode() {
  if (!views_) return;
  if (KokkosRuntime* runtime = KokkosRuntime::running()) {
    try {
      runtime->call([this] { views_.reset(); });
      return;
    } catch (...) {
      // Shut down meanwhile: fall through.
    }
  }
  // Kokkos is already finalised (the node outlived exit's shutdown): Views can no longer be
  // released through it, and the process is ending.
  static_cast<void>(views_.release());
}

void KokkosNode::run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                     NodeTrace& trace) {
  KokkosRuntime* runtime = KokkosRuntime::running();
  if (runtime == nullptr) throw Error("Kokkos was finalised at exit; the kokkos node cannot run");
  TraceLane& lane = trace.lane(0);
  // The whole run happens on the Kokkos thread: tiles follow each other there with no
  // hand-over between threads, and this proxy thread waits.
  runtime->call([&] {
    with_types(job.precision(), job.mode(), [&]<class Real, kernels::Arith A>() {
      run_typed<Real, A>(job, work, counts, lane, *views_);
    });
  });
}

bool KokkosNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  if (!kHostAccessible) {
    why = fmt::format(
        "node 'kokkos' runs on a device execution space ({}), where host "
        "implementations cannot run (kernel '{}' has {})",
        ExecutionSpace::name(), kernel.name, kernel.families());
    return false;
  }
  return host_can_run(info_, kernel, why);
}

void KokkosNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  KokkosRuntime* runtime = KokkosRuntime::running();
  if (runtime == nullptr) throw Error("Kokkos was finalised at exit; the kokkos node cannot run");
  const backend::HostImplementation& implementation = host_implementation(info_, *launch.kernel);
  TraceLane& lane = trace.lane(0);
  // On the Kokkos thread, like the job: the host implementation computes each tile there.
  runtime->call([&] {
    for_each_tile(work, 0, 1, [&](const Tile& tile) {
      run_host_tile(launch, implementation, tile, lane, work);
    });
  });
}

void register_kokkos(NodeRegistry& registry) {
  registry.add(
      Backend{"kokkos",
              kHostAccessible ? NodeKind::host : NodeKind::device,
              true,
              {},
              &KokkosNode::describe,
              [](const NodeOptions& options) { return std::make_unique<KokkosNode>(options); }});
}

}  // namespace hetero::nodes

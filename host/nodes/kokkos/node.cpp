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

namespace {

constexpr bool kHostAccessible =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, SpaceMemory>::accessible;

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
  static_cast<void>(runtime);
  info_ = describe(options);
}

KokkosNode::~KokkosNode() = default;

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

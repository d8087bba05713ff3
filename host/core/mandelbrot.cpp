// The Mandelbrot workload as a public kernel: host, simd, OpenCL, CUDA and Thrust
// implementations over the tile kernels of kernels/, and the job as a launch of it.
#include "hetero/mandelbrot.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/mandelbrot_launch.hpp"
#include "cuda/refill.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "nodes/host_kernel.hpp"
#include "opencl_kernel_source.hpp"

namespace hetero {
namespace {

constexpr std::string_view kDefaultTileKernel = "scalar";

// Pixels one work-item of the OpenCL kernel for CPU devices computes (kernels/opencl/
// mandelbrot_cpu.cl): enough for its later rounds to keep their vectors full.
constexpr std::int64_t kOpenCLCpuChunk = 1024;

template <class Real>
constexpr const char* kPrecisionName = sizeof(Real) == sizeof(double) ? "fp64" : "fp32";

// A host implementation over the tile kernel `tile`: the counts of pixels [begin, end).
template <class Real>
auto host_implementation(nodes::AxesTileKernel<Real> tile) {
  return [tile](Tile1D range, View<const Real> xs, View<const Real> ys, View<std::uint32_t> counts,
                std::int64_t width, std::uint32_t max_iter) {
    return tile(xs.data(), ys.data(), width, range.begin, range.end, max_iter,
                counts.data() + range.begin);
  };
}

// A host implementation over the tile kernel registered as `name`, looked up on its first call:
// a kernel a module registers (simd's) loads that module only when a node runs it.
template <class Real, kernels::Arith A>
auto named_host_implementation(std::string name) {
  auto tile = std::make_shared<std::atomic<nodes::AxesTileKernel<Real>>>(nullptr);
  return [name = std::move(name), tile](Tile1D range, View<const Real> xs, View<const Real> ys,
                                        View<std::uint32_t> counts, std::int64_t width,
                                        std::uint32_t max_iter) {
    nodes::AxesTileKernel<Real> run = tile->load(std::memory_order_acquire);
    if (run == nullptr) {
      run = nodes::host_kernel_family(name).axes<Real, A>();
      tile->store(run, std::memory_order_release);
    }
    return run(xs.data(), ys.data(), width, range.begin, range.end, max_iter,
               counts.data() + range.begin);
  };
}

// The launcher registered for `family`, looked up at each launch (the cuda module registers it
// when it loads, before any of its nodes runs).
nodes::DeviceCountsLauncher registered_launcher(nodes::DeviceFamily family) {
  const nodes::DeviceCountsLauncher launcher = nodes::device_counts(family);
  if (launcher == nullptr) throw Error("the Mandelbrot kernel's CUDA launcher is not registered");
  return launcher;
}

// A CUDA implementation over the launcher of `family` that counts the iterations on the device.
template <class Real, kernels::Arith A>
auto counting_device_implementation(nodes::DeviceFamily family) {
  constexpr Precision kPrecision =
      sizeof(Real) == sizeof(double) ? Precision::fp64 : Precision::fp32;
  constexpr Mode kMode = A == kernels::Arith::exact ? Mode::exact : Mode::fma;
  return [family](void* stream, std::uint64_t* iterations, Tile1D range, View<const Real> xs,
                  View<const Real> ys, View<std::uint32_t> counts, std::int64_t width,
                  std::uint32_t max_iter) {
    registered_launcher(family)(stream, kPrecision, kMode, xs.data(), ys.data(), width, range.begin,
                                range.end, max_iter, counts.data(), iterations);
  };
}

// A Thrust implementation over the launcher of `family` (the run counts its iterations after it).
template <class Real, kernels::Arith A>
auto device_implementation(nodes::DeviceFamily family) {
  return [counting = counting_device_implementation<Real, A>(family)](
             void* stream, Tile1D range, View<const Real> xs, View<const Real> ys,
             View<std::uint32_t> counts, std::int64_t width, std::uint32_t max_iter) {
    counting(stream, nullptr, range, xs, ys, counts, width, max_iter);
  };
}

// A Thrust implementation for a system whose memory the host addresses (OpenMP), over the
// registered launcher: it returns the iterations performed.
template <class Real, kernels::Arith A>
auto system_implementation() {
  constexpr Precision kPrecision =
      sizeof(Real) == sizeof(double) ? Precision::fp64 : Precision::fp32;
  constexpr Mode kMode = A == kernels::Arith::exact ? Mode::exact : Mode::fma;
  return [](Tile1D range, View<const Real> xs, View<const Real> ys, View<std::uint32_t> counts,
            std::int64_t width, std::uint32_t max_iter) {
    const nodes::SystemCountsLauncher launcher = nodes::thrust_omp_counts();
    if (launcher == nullptr)
      throw Error("the Mandelbrot kernel's thrust:omp launcher is not registered");
    return launcher(kPrecision, kMode, xs.data(), ys.data(), width, range.begin, range.end,
                    max_iter, counts.data());
  };
}

// Whether this library has backend `name` (linked in, or in a module).
bool backend_built(std::string_view name) {
  const Backend* backend = NodeRegistry::builtin().find(name);
  return backend != nullptr && backend->built;
}

bool has_host_kernel(std::string_view name) {
  const std::vector<std::string> names = nodes::host_kernel_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The kernel over the host tile kernel `tile_kernel` (the simd node runs its default kernel,
// nodes::kSimdNodeKernel, when that is scalar), OpenCL's mandelbrot_counts (any device) and
// mandelbrot_counts_cpu (CPU devices) and, in a build with CUDA, the CUDA counts kernel, the
// Thrust transform and its OpenMP system's.
template <class Real, kernels::Arith A>
MandelbrotKernel<Real> make_kernel(const std::string& tile_kernel) {
  std::string name = fmt::format("mandelbrot.{}.{}", kPrecisionName<Real>,
                                 A == kernels::Arith::exact ? "exact" : "fma");
  if (tile_kernel != kDefaultTileKernel) name += "." + tile_kernel;
  MandelbrotKernel<Real> kernel(name);
  if (tile_kernel == kDefaultTileKernel) {
    kernel.host(host_implementation<Real>(nodes::scalar_tile_family().axes<Real, A>()));
    if (has_host_kernel(nodes::kSimdNodeKernel)) {
      kernel.simd(named_host_implementation<Real, A>(std::string(nodes::kSimdNodeKernel)));
    }
  } else {
    if (!has_host_kernel(tile_kernel)) nodes::host_kernel_family(tile_kernel);  // names the known
    kernel.host(named_host_implementation<Real, A>(tile_kernel));
    kernel.simd(named_host_implementation<Real, A>(tile_kernel));
  }
  OpenCLOptions options;
  options.array_origins = true;
  options.needs_fp64 = sizeof(Real) == sizeof(double);
  options.build_options =
      fmt::format("-DHETERO_FP64={} -DHETERO_FMA={}", sizeof(Real) == sizeof(double) ? 1 : 0,
                  A == kernels::Arith::fma ? 1 : 0);
  kernel.opencl(std::string(kernels::kMandelbrotOpenCL), "mandelbrot_counts", options);
  // On CPU devices, work-items that each compute a chunk of pixels on vectors.
  OpenCLOptions cpu = options;
  cpu.device = OpenCLDevice::cpu;
  cpu.elements_per_item = kOpenCLCpuChunk;
  cpu.local_size = 1;
  cpu.build_options += fmt::format(" -DHETERO_CHUNK={}", kOpenCLCpuChunk);
  kernel.opencl(std::string(kernels::kMandelbrotCpuOpenCL), "mandelbrot_counts_cpu", cpu);
  if (backend_built("cuda")) {
    // The refill kernel (the default): a block's threads share the pixels of its chunk.
    kernel.cuda_counting(counting_device_implementation<Real, A>(nodes::DeviceFamily::cuda))
        .cuda_elements_per_thread(kernels::cuda::kRefillPixelsPerThread);
  }
  if (backend_built("thrust")) {
    kernel.thrust(device_implementation<Real, A>(nodes::DeviceFamily::thrust));
#if HETERO_THRUST_OMP
    kernel.thrust_omp(system_implementation<Real, A>());
#endif
  }
  kernel.work([](Tile1D range, View<const Real>, View<const Real>, View<std::uint32_t> counts,
                 std::int64_t, std::uint32_t max_iter) {
    std::uint64_t iterations = 0;
    for (std::int64_t i = range.begin; i < range.end; ++i) {
      iterations += iterations_of(counts[i], max_iter);
    }
    return iterations;
  });
  kernel.exact(A == kernels::Arith::exact);
  return kernel;
}

}  // namespace

template <class Real>
const MandelbrotKernel<Real>& mandelbrot_kernel(Mode mode, std::string_view tile_kernel) {
  // Made once per (mode, tile kernel) and kept: OpenCL builds are cached per kernel.
  static std::mutex mutex;
  static std::map<std::pair<Mode, std::string>, std::unique_ptr<const MandelbrotKernel<Real>>>
      kernels;
  const std::string name(tile_kernel.empty() ? kDefaultTileKernel : tile_kernel);
  std::lock_guard lock(mutex);
  auto& kernel = kernels[{mode, name}];
  if (!kernel) {
    kernel = std::make_unique<const MandelbrotKernel<Real>>(
        mode == Mode::exact ? make_kernel<Real, kernels::Arith::exact>(name)
                            : make_kernel<Real, kernels::Arith::fma>(name));
  }
  return *kernel;
}

template const MandelbrotKernel<double>& mandelbrot_kernel<double>(Mode, std::string_view);
template const MandelbrotKernel<float>& mandelbrot_kernel<float>(Mode, std::string_view);

namespace {

// Calls f(kernel, xs, ys, counts, width, max_iter): the job's kernel in its precision and mode
// (with `tile_kernel` on host nodes) and its arguments, as a call site passes them.
template <class F>
decltype(auto) with_job_arguments(const Job& job, std::string_view tile_kernel,
                                  std::span<std::uint32_t> counts, F&& f) {
  return nodes::with_types(job.precision(), job.mode(), [&]<class Real, kernels::Arith>() {
    const AxesView<Real> axes = job.axes<Real>();
    return f(mandelbrot_kernel<Real>(job.mode(), tile_kernel),
             read(std::span<const Real>(axes.xs, static_cast<std::size_t>(axes.width))),
             read(std::span<const Real>(axes.ys, static_cast<std::size_t>(axes.height))),
             write(counts), job.width(), job.max_iter());
  });
}

}  // namespace

namespace detail {

backend::Launch mandelbrot_launch(const Job& job, std::string_view tile_kernel,
                                  std::span<std::uint32_t> counts) {
  return with_job_arguments(job, tile_kernel, counts, [&](const auto& kernel, auto&&... arguments) {
    backend::Launch launch;
    launch.kernel = kernel.definition();
    launch.width = job.pixels();
    launch.height = 1;
    launch.arguments = std::remove_cvref_t<decltype(kernel)>::bind(arguments...);
    return launch;
  });
}

std::shared_ptr<const backend::KernelDefinition> mandelbrot_definition(
    Precision precision, Mode mode, std::string_view tile_kernel) {
  return nodes::with_types(precision, mode, [&]<class Real, kernels::Arith>() {
    return mandelbrot_kernel<Real>(mode, tile_kernel).definition();
  });
}

std::vector<double> sampled_tile_work(const Job& job, const std::vector<Tile>& tiles, int samples) {
  const std::vector<double>& xs = job.xs();
  const std::vector<double>& ys = job.ys();
  std::vector<double> work;
  work.reserve(tiles.size());
  for (const Tile& tile : tiles) {
    const std::int64_t taken = std::min<std::int64_t>(samples, tile.size());
    double iterations = 0;
    for (std::int64_t k = 0; k < taken; ++k) {
      // Pixels spread evenly over the tile's range, the middle of each part.
      const std::int64_t pixel = tile.begin + (2 * k + 1) * tile.size() / (2 * taken);
      const auto x = static_cast<std::size_t>(pixel % job.width());
      const auto y = static_cast<std::size_t>(pixel / job.width());
      const std::uint32_t count =
          kernels::point<double, kernels::Arith::exact>(xs[x], ys[y], job.max_iter());
      iterations += static_cast<double>(kernels::iterations_of(count, job.max_iter()));
    }
    work.push_back(
        taken > 0 ? iterations / static_cast<double>(taken) * static_cast<double>(tile.size()) : 0);
  }
  return work;
}

void register_mandelbrot_kernels() {
  for (const std::string& tile_kernel : nodes::host_kernel_names()) {
    for (const Mode mode : {Mode::exact, Mode::fma}) {
      backend::register_kernel(mandelbrot_kernel<double>(mode, tile_kernel).definition());
      backend::register_kernel(mandelbrot_kernel<float>(mode, tile_kernel).definition());
    }
  }
}

}  // namespace detail

LaunchResult run_mandelbrot(Runtime& runtime, const Job& job, std::span<std::uint32_t> counts,
                            LaunchOptions options) {
  if (static_cast<std::int64_t>(counts.size()) != job.pixels()) {
    throw UsageError(
        fmt::format("run_mandelbrot: {} counts for a job of {} pixels; pass one "
                    "count per pixel",
                    counts.size(), job.pixels()));
  }
  if (options.tile <= 0) {
    // The job's own tile size: a kernel's default knows nothing of iterations per pixel.
    bool device_nodes = false;
    for (const NodeInfo& node : runtime.nodes()) device_nodes |= node.kind != NodeKind::host;
    options.tile = auto_tile_pixels(job.spec(), runtime.lanes(), device_nodes);
  }
  LaunchResult result = with_job_arguments(
      job, kDefaultTileKernel, counts, [&](const auto& kernel, auto&&... arguments) {
        return runtime.run(kernel, Grid1D{job.pixels()}, arguments..., options);
      });
  Report& report = result.report;
  report.job = job.spec();
  const CountsSummary summary = summarize_counts(counts, job.max_iter());
  report.checksum = summary.checksum;
  report.effective_iterations = summary.effective_iterations;
  return result;
}

}  // namespace hetero

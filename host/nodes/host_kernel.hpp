// Host tile kernels: the scalar reference and any other a backend registers (e.g. simd),
// chosen by name at run time and instantiated per (precision, mode) at compile time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/job.hpp"
#include "hetero/trace.hpp"
#include "scalar/tile.hpp"

namespace hetero::detail {
class ThreadPool;
}

namespace hetero::nodes {

/// Calls `f.template operator()<Real, A>()` with the types of a run's precision and mode: the
/// one place where they become types.
template <class F>
decltype(auto) with_types(Precision precision, Mode mode, F&& f) {
  using kernels::Arith;
  const bool exact = mode == Mode::exact;
  if (precision == Precision::fp64) {
    return exact ? f.template operator()<double, Arith::exact>()
                 : f.template operator()<double, Arith::fma>();
  }
  return exact ? f.template operator()<float, Arith::exact>()
               : f.template operator()<float, Arith::fma>();
}

/// A tile kernel on raw axes, as kernels::scalar::tile: pixels [begin, end) of an image `width`
/// wide into out[0, end - begin); returns the iterations performed.
template <class Real>
using AxesTileKernel = std::uint64_t (*)(const Real* xs, const Real* ys, std::int64_t width,
                                         std::int64_t begin, std::int64_t end,
                                         std::uint32_t max_iter, std::uint32_t* out);

/// One tile kernel, instantiated for every (precision, mode), made from a template
/// `TileT<Real, A>` whose static `run` is an AxesTileKernel<Real>.
struct TileKernelFamily {
  AxesTileKernel<double> fp64[2] = {};  ///< indexed by kernels::Arith
  AxesTileKernel<float> fp32[2] = {};

  template <class Real, kernels::Arith A>
  AxesTileKernel<Real> axes() const {
    if constexpr (sizeof(Real) == sizeof(double)) {
      return fp64[static_cast<int>(A)];
    } else {
      return fp32[static_cast<int>(A)];
    }
  }
};

template <template <class, kernels::Arith> class TileT>
TileKernelFamily tile_kernel_family() {
  using kernels::Arith;
  TileKernelFamily family;
  family.fp64[0] = TileT<double, Arith::exact>::run;
  family.fp64[1] = TileT<double, Arith::fma>::run;
  family.fp32[0] = TileT<float, Arith::exact>::run;
  family.fp32[1] = TileT<float, Arith::fma>::run;
  return family;
}

/// The scalar reference: the point function one pixel at a time (see scalar_tile_family, which
/// takes the FMA-instruction build of fma mode where the CPU has one).
template <class Real, kernels::Arith A>
struct ScalarTile {
  static constexpr AxesTileKernel<Real> run = &kernels::scalar::tile<Real, A>;
};
TileKernelFamily scalar_tile_family();

/// The simd node's default tile kernel, which the simd backend registers: the vector loop with
/// exact cycle detection and trapped states (kernels::simd::tile_cycles). The backend also
/// registers "simd", the plain vector loop, and "simd-shortcuts", the cardioid and bulb test.
inline constexpr std::string_view kSimdNodeKernel = "simd-cycles";

/// Makes a kernel family selectable by name (`--kernel NAME`). Called by backend registration.
void register_host_kernel(std::string name, const TileKernelFamily& family);
/// Names of the registered kernels, "scalar" first, with those a backend module registers when
/// it loads (known by name before it does).
std::vector<std::string> host_kernel_names();
/// The kernel family `name`, loading the module that registers it; throws UsageError naming
/// the known kernels when unknown, Error when its module cannot load.
TileKernelFamily host_kernel_family(std::string_view name);

/// Enqueues the Mandelbrot counts of pixels [begin, end) on a CUDA `stream` into out[pixel]
/// (device memory) and, unless `iterations` is null, adds the iterations they performed to
/// *iterations (device memory); throws Error when the launch fails. The cuda and thrust backends
/// register theirs when the library is built with CUDA: hetero::mandelbrot_kernel's CUDA and
/// Thrust implementations (the Thrust one counts nothing: it is given no `iterations`).
using DeviceCountsLauncher = void (*)(void* stream, Precision precision, Mode mode, const void* xs,
                                      const void* ys, std::int64_t width, std::int64_t begin,
                                      std::int64_t end, std::uint32_t max_iter, std::uint32_t* out,
                                      std::uint64_t* iterations);
enum class DeviceFamily : std::uint8_t { cuda, thrust };
void register_device_counts(DeviceFamily family, DeviceCountsLauncher launcher);
/// The launcher registered for `family` (loading the cuda module first, in a build with
/// modules); nullptr in a build without CUDA, or when the module cannot load.
DeviceCountsLauncher device_counts(DeviceFamily family);

/// Computes the Mandelbrot counts of pixels [begin, end) into out[pixel] on Thrust's OpenMP
/// system (memory the host addresses) and returns the iterations they performed: the Thrust
/// implementation of hetero::mandelbrot_kernel for that system. The thrust backend registers it.
using SystemCountsLauncher = std::uint64_t (*)(Precision precision, Mode mode, const void* xs,
                                               const void* ys, std::int64_t width,
                                               std::int64_t begin, std::int64_t end,
                                               std::uint32_t max_iter, std::uint32_t* out);
void register_thrust_omp_counts(SystemCountsLauncher launcher);
/// The launcher registered (loading the cuda module first, in a build with modules); nullptr in
/// a build without the thrust node's OpenMP system, or when the module cannot load.
SystemCountsLauncher thrust_omp_counts();

/// The contiguous block [first, last) of `count` items that lane `lane` of `lanes` owns.
inline std::pair<std::size_t, std::size_t> lane_block(std::size_t count, int lane, int lanes) {
  const auto l = static_cast<std::size_t>(lane);
  const auto n = static_cast<std::size_t>(lanes);
  return {count * l / n, count * (l + 1) / n};
}

/// Calls `run_one(tile)` for each tile `work` gives worker `worker` of `workers`: under a
/// static policy a contiguous block of the node's assigned tiles, under a self-scheduling one
/// the next tile of the shared queue until it is empty. Stops between tiles once a stop is
/// requested.
template <class RunOne>
void for_each_tile(WorkSource& work, int worker, int workers, RunOne&& run_one) {
  if (work.self_scheduling()) {
    while (const auto tile = work.next()) run_one(*tile);
    return;
  }
  const std::span<const Tile> assigned = work.assigned();
  const auto [first, last] = lane_block(assigned.size(), worker, workers);
  for (std::size_t i = first; i < last && !work.stop_requested(); ++i) run_one(assigned[i]);
}

/// The workers a launch over `work` needs of a node's `workers`: no more than it has tiles, and
/// at least one.
int workers_for(int workers, const WorkSource& work);

/// One tile on one worker's lane.
using HostTileTask = std::function<void(const Tile& tile, TraceLane& lane)>;

/// Runs `task` over the tiles `work` hands out on the workers of `pool`, one trace lane per
/// worker (see for_each_tile), and no more workers than `work` has tiles (a lone tile runs on
/// the calling thread).
void run_on_pool(detail::ThreadPool& pool, WorkSource& work, NodeTrace& trace,
                 const HostTileTask& task);

/// Whether a host node can run `kernel`: it needs a host implementation (the simd node: a
/// simd or a host one).
bool host_can_run(const NodeInfo& node, const backend::KernelDefinition& kernel, std::string& why);

/// The implementation a host node runs: the simd node's own family when it has one, else host.
const backend::HostImplementation& host_implementation(const NodeInfo& node,
                                                       const backend::KernelDefinition& kernel);

/// Computes one tile of a user's kernel with `implementation`, records it on `lane` (its work
/// units as the event's iterations) and reports it done.
void run_host_tile(const backend::Launch& launch, const backend::HostImplementation& implementation,
                   const Tile& tile, TraceLane& lane, WorkSource& work);

}  // namespace hetero::nodes

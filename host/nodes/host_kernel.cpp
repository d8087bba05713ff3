// The registry of host tile kernels.
#include "host_kernel.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/modules.hpp"
#include "core/thread_pool.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "scalar/tile_fma.hpp"

namespace hetero::nodes {
namespace {

struct KernelTable {
  std::mutex mutex;
  std::vector<std::pair<std::string, TileKernelFamily>> families{{"scalar", scalar_tile_family()}};
};

KernelTable& table() {
  static KernelTable kernels;
  return kernels;
}

// Host tile kernels a backend module registers when it loads, by name (a build with modules).
struct ModuleKernel {
  std::string_view name;
  std::string_view module;
};
constexpr ModuleKernel kModuleKernels[] = {
#define HETERO_BACKEND(name)
#define HETERO_DISABLED_BACKEND(name, kind, reason)
#define HETERO_MODULE_BACKEND(name, kind, module)
#define HETERO_MODULE_KERNEL(name, module) {name, module},
#include "hetero_backends.inc"
#undef HETERO_BACKEND
#undef HETERO_DISABLED_BACKEND
#undef HETERO_MODULE_BACKEND
#undef HETERO_MODULE_KERNEL
    {"", ""}};

// The module that registers kernel `name`; empty when none does.
std::string_view module_of_kernel(std::string_view name) {
  for (const ModuleKernel& kernel : kModuleKernels) {
    if (!kernel.name.empty() && kernel.name == name) return kernel.module;
  }
  return {};
}

// Backends linked into the library register their kernels and launchers when the built-in
// registry is made: make it first. (A module registers its own when it loads.)
void ensure_builtin_registered() {
  if (!detail::modules_enabled()) static_cast<void>(NodeRegistry::builtin());
}

// The registrations of `module` are made, if it can load.
void load_registrations(std::string_view module) {
  if (detail::modules_enabled()) {
    static_cast<void>(detail::load_module(module));
  } else {
    ensure_builtin_registered();
  }
}

// The family registered as `name`, if any.
std::optional<TileKernelFamily> registered_family(std::string_view name) {
  KernelTable& kernels = table();
  std::lock_guard lock(kernels.mutex);
  for (const auto& [known, family] : kernels.families) {
    if (known == name) return family;
  }
  return std::nullopt;
}

}  // namespace

TileKernelFamily scalar_tile_family() {
  TileKernelFamily family = tile_kernel_family<ScalarTile>();
  constexpr auto kFma = static_cast<int>(kernels::Arith::fma);
  if (const auto fp64 = kernels::scalar_fma_tile_fp64()) family.fp64[kFma] = fp64;
  if (const auto fp32 = kernels::scalar_fma_tile_fp32()) family.fp32[kFma] = fp32;
  return family;
}

void register_host_kernel(std::string name, const TileKernelFamily& family) {
  KernelTable& kernels = table();
  std::lock_guard lock(kernels.mutex);
  for (auto& entry : kernels.families) {
    if (entry.first == name) {
      entry.second = family;
      return;
    }
  }
  kernels.families.emplace_back(std::move(name), family);
}

std::vector<std::string> host_kernel_names() {
  ensure_builtin_registered();
  KernelTable& kernels = table();
  std::lock_guard lock(kernels.mutex);
  std::vector<std::string> names;
  for (const auto& entry : kernels.families) names.push_back(entry.first);
  for (const ModuleKernel& kernel : kModuleKernels) {
    if (!kernel.name.empty() && std::find(names.begin(), names.end(), kernel.name) == names.end()) {
      names.emplace_back(kernel.name);
    }
  }
  return names;
}

namespace {
std::atomic<DeviceCountsLauncher> device_counts_launchers[2] = {nullptr, nullptr};
std::atomic<SystemCountsLauncher> thrust_omp_counts_launcher = nullptr;
}  // namespace

void register_thrust_omp_counts(SystemCountsLauncher launcher) {
  thrust_omp_counts_launcher = launcher;
}

SystemCountsLauncher thrust_omp_counts() {
  if (const SystemCountsLauncher launcher = thrust_omp_counts_launcher) return launcher;
  load_registrations("cuda");
  return thrust_omp_counts_launcher;
}

void register_device_counts(DeviceFamily family, DeviceCountsLauncher launcher) {
  device_counts_launchers[static_cast<int>(family)] = launcher;
}

DeviceCountsLauncher device_counts(DeviceFamily family) {
  std::atomic<DeviceCountsLauncher>& registered = device_counts_launchers[static_cast<int>(family)];
  if (const DeviceCountsLauncher launcher = registered) return launcher;
  load_registrations("cuda");
  return registered;
}

TileKernelFamily host_kernel_family(std::string_view name) {
  ensure_builtin_registered();
  if (const auto family = registered_family(name)) return *family;
  const std::string_view module = module_of_kernel(name);
  if (module.empty()) {
    throw UsageError(fmt::format("unknown kernel '{}': this build has {}", name,
                                 fmt::join(host_kernel_names(), ", ")));
  }
  detail::ensure_module(module);  // it registers its kernels as it loads
  if (const auto family = registered_family(name)) return *family;
  throw Error(
      fmt::format("kernel '{}': module hetero-{}.so loaded but did not register it", name, module));
}

int workers_for(int workers, const WorkSource& work) {
  const std::size_t tiles = std::max<std::size_t>(1, work.max_tiles());
  return static_cast<int>(std::min(static_cast<std::size_t>(std::max(1, workers)), tiles));
}

void run_on_pool(detail::ThreadPool& pool, WorkSource& work, NodeTrace& trace,
                 const HostTileTask& task) {
  const int lanes = workers_for(pool.size(), work);
  trace.reserve_lanes(pool.size());
  pool.run(lanes, [&](int worker) {
    TraceLane& lane = trace.lane(worker);
    for_each_tile(work, worker, lanes, [&](const Tile& tile) { task(tile, lane); });
  });
}

namespace {
bool is_simd_node(const NodeInfo& node) {
  return node.name == "simd";
}
}  // namespace

bool host_can_run(const NodeInfo& node, const backend::KernelDefinition& kernel, std::string& why) {
  if (kernel.host || (is_simd_node(node) && kernel.simd)) return true;
  why = fmt::format("node '{}' runs host implementations and kernel '{}' has none (it has {})",
                    node.name, kernel.name, kernel.families());
  return false;
}

const backend::HostImplementation& host_implementation(const NodeInfo& node,
                                                       const backend::KernelDefinition& kernel) {
  return is_simd_node(node) && kernel.simd ? kernel.simd : kernel.host;
}

void run_host_tile(const backend::Launch& launch, const backend::HostImplementation& implementation,
                   const Tile& tile, TraceLane& lane, WorkSource& work) {
  const backend::TileRange range = launch.range(tile);
  backend::stage_on_host(launch, range, &lane);
  const std::int64_t begin = lane.now_ns();
  const double performed = implementation(range, launch.arguments);
  const std::int64_t end = lane.now_ns();
  const backend::KernelDefinition& kernel = *launch.kernel;
  const double units = performed >= 0 ? performed
                       : kernel.work  ? kernel.work(range, launch.arguments)
                                      : static_cast<double>(launch.work_units(tile));
  lane.compute(tile, begin, end, static_cast<std::uint64_t>(std::llround(std::max(0.0, units))));
  backend::commit_on_host(launch, range);
  work.completed(tile);
}

}  // namespace hetero::nodes

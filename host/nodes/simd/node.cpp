// The simd node, the "simd-cycles" (its default), "simd" and "simd-shortcuts" host kernels, and
// the node's performance model.
#include "node.hpp"

#include <exception>
#include <fstream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "../host_kernel.hpp"
#include "core/host_info.hpp"
#include "core/thread_pool.hpp"
#include "hetero/machine.hpp"
#include "hetero/registry.hpp"
#include "simd/tile.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kPlainKernel = "simd";
constexpr std::string_view kShortcutsKernel = "simd-shortcuts";

template <class Real, kernels::Arith A>
struct SimdTile {
  static constexpr AxesTileKernel<Real> run = &kernels::simd::tile<Real, A>;
};

template <class Real, kernels::Arith A>
struct SimdCyclesTile {
  static constexpr AxesTileKernel<Real> run = &kernels::simd::tile_cycles<Real, A>;
};

template <class Real, kernels::Arith A>
struct SimdShortcutsTile {
  static constexpr AxesTileKernel<Real> run = &kernels::simd::tile_shortcuts<Real, A>;
};

kernels::Arith arith_of(Mode mode) {
  return mode == Mode::exact ? kernels::Arith::exact : kernels::Arith::fma;
}

// The dispatched instruction set, for people: "Highway AVX3 (AVX-512, 512-bit vectors)".
std::string isa_text() {
  const std::string target = kernels::simd::target_name();
  const int bits = kernels::simd::vector_bytes() * 8;
  if (target == "AVX3" || target == "AVX3_DL" || target == "AVX3_ZEN4") {
    return fmt::format("Highway {} (AVX-512, {}-bit vectors)", target, bits);
  }
  if (target == "EMU128" || target == "SCALAR") {
    return fmt::format("Highway {} (portable C++, no vector instructions)", target);
  }
  return fmt::format("Highway {} ({}-bit vectors)", target, bits);
}

void register_simd_kernels() {
  register_host_kernel(std::string(kSimdNodeKernel), tile_kernel_family<SimdCyclesTile>());
  register_host_kernel(std::string(kPlainKernel), tile_kernel_family<SimdTile>());
  register_host_kernel(std::string(kShortcutsKernel), tile_kernel_family<SimdShortcutsTile>());
}

// The kernel the node runs for NodeOptions.kernel: one of the simd kernels as asked, else its
// default.
std::string_view node_kernel(const std::string& asked) {
  for (const std::string_view kernel : {kSimdNodeKernel, kPlainKernel, kShortcutsKernel}) {
    if (asked == kernel) return kernel;
  }
  return kSimdNodeKernel;
}

}  // namespace

double simd_peak_giters(Precision precision, Mode mode, int cores, double ghz) {
  const kernels::Arith arith = arith_of(mode);
  const int real_bytes = precision == Precision::fp64 ? 8 : 4;
  const int lanes = kernels::simd::vector_lanes(real_bytes, arith);
  return cores * ghz * host_machine().fma_ports * lanes /
         kernels::simd::vector_ops_per_iteration(arith);
}

double simd_peak_giters(Precision precision, Mode mode, int cores) {
  return simd_peak_giters(precision, mode, std::min(cores, host_machine().cores),
                          host_machine().ghz);
}

NodeInfo SimdNode::describe(const NodeOptions& options) {
  NodeInfo info;
  info.name = "simd";
  info.kind = NodeKind::host;
  info.concurrency = options.workers > 0 ? options.workers : detail::host_hardware_threads();
  info.tile_kernel = node_kernel(options.kernel);
  // The kernel is part of the description, and so of the throughput model's key (the plain
  // loop's entries keep their key of before the node had other kernels).
  const std::string kernel =
      info.tile_kernel == kPlainKernel ? "" : fmt::format(", kernel {}", info.tile_kernel);
  // The host's model (machine.hpp) at this node's workers, on as many physical cores.
  const std::string model = fmt::format(
      "model peak {:.1f} Giter/s fp64, {:.1f} fp32 in exact mode at {:.2f} GHz",
      simd_peak_giters(Precision::fp64, Mode::exact, info.concurrency),
      simd_peak_giters(Precision::fp32, Mode::exact, info.concurrency), host_machine().ghz);
  info.device = fmt::format("{} ({} std::threads, {}{}; {})", detail::host_cpu_name(),
                            info.concurrency, isa_text(), kernel, model);
  info.resource = "host-cpu";
  info.adjustable_workers = true;
  info.available = true;
  return info;
}

SimdNode::SimdNode(const NodeOptions& options)
    : info_(describe(options)), pool_(std::make_unique<detail::ThreadPool>(info_.concurrency)) {}

SimdNode::~SimdNode() = default;

bool SimdNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  return host_can_run(info_, kernel, why);
}

void SimdNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  const backend::HostImplementation& implementation = host_implementation(info_, *launch.kernel);
  run_on_pool(*pool_, work, trace, [&](const Tile& tile, TraceLane& lane) {
    run_host_tile(launch, implementation, tile, lane, work);
  });
}

void register_simd(NodeRegistry& registry) {
  // threads and openmp run these too, with NodeOptions.kernel = "simd-cycles", "simd" or
  // "simd-shortcuts".
  register_simd_kernels();
  registry.add(Backend{
      "simd", NodeKind::host, true, {}, &SimdNode::describe, [](const NodeOptions& options) {
        return std::make_unique<SimdNode>(options);
      }});
}

}  // namespace hetero::nodes

// The thrust node on each of its systems (a CUDA GPU, or Thrust's OpenMP system selected as
// thrust:omp), and the Thrust implementations of the Mandelbrot kernel.
#include "nodes/thrust/node.hpp"

#include "hetero/registry.hpp"
#include "nodes/host_kernel.hpp"
#include "nodes/thrust/counts.hpp"
#if HETERO_THRUST_OMP
#include "nodes/thrust/omp_counts.hpp"
#include "nodes/thrust/omp_node.hpp"
#endif

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "thrust";

// hetero::mandelbrot_kernel's Thrust implementation on a GPU (see DeviceCountsLauncher).
void launch_mandelbrot_counts(void* stream, Precision precision, Mode mode, const void* xs,
                              const void* ys, std::int64_t width, std::int64_t begin,
                              std::int64_t end, std::uint32_t max_iter, std::uint32_t* out,
                              std::uint64_t* /*iterations: counted after the run*/) {
  thrust_device::transform_counts(precision == Precision::fp64, mode == Mode::fma, xs, ys, width,
                                  begin, end, max_iter, out, static_cast<cudaStream_t>(stream));
}

#if HETERO_THRUST_OMP
// ... and on Thrust's OpenMP system (see SystemCountsLauncher).
std::uint64_t omp_mandelbrot_counts(Precision precision, Mode mode, const void* xs, const void* ys,
                                    std::int64_t width, std::int64_t begin, std::int64_t end,
                                    std::uint32_t max_iter, std::uint32_t* out) {
  return thrust_omp::transform_counts(precision == Precision::fp64, mode == Mode::fma, xs, ys,
                                      width, begin, end, max_iter, out);
}

bool selects_omp(const NodeOptions& options) {
  return options.device == ThrustOmpNode::kDevice;
}
#endif

}  // namespace

ThrustNode::ThrustNode(const NodeOptions& options) : GpuNode(kName, options, kLanes) {
  thrust_device::warm_up();
}

void register_thrust(NodeRegistry& registry) {
  register_device_counts(DeviceFamily::thrust, &launch_mandelbrot_counts);
  Backend backend = cuda::gpu_backend<ThrustNode>(kName, ThrustNode::kLanes);
#if HETERO_THRUST_OMP
  // The OpenMP system beside the CUDA devices: --device omp (thrust:omp) selects it.
  register_thrust_omp_counts(&omp_mandelbrot_counts);
  backend.describe = [gpu = backend.describe](const NodeOptions& options) {
    if (selects_omp(options)) return ThrustOmpNode::describe();
    NodeInfo info = gpu(options);
    if (!info.available && options.device.empty()) {
      info.reason += "; thrust:omp runs Thrust on the CPU (its OpenMP system)";
    }
    return info;
  };
  backend.create = [gpu = backend.create](const NodeOptions& options) -> std::unique_ptr<Node> {
    if (selects_omp(options)) return std::make_unique<ThrustOmpNode>(options);
    return gpu(options);
  };
  backend.enumerate = [gpu = backend.enumerate] {
    std::vector<NodeInfo> systems = gpu();
    systems.push_back(ThrustOmpNode::describe());
    return systems;
  };
  backend.probe = [gpu = backend.probe](const NodeOptions& options) {
    return selects_omp(options) ? ThrustOmpNode::probe() : gpu(options);
  };
#endif
  registry.add(std::move(backend));
}

}  // namespace hetero::nodes

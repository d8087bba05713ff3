// The thrust node, and the Thrust implementation of the Mandelbrot kernel.
#include "nodes/thrust/node.hpp"

#include "hetero/registry.hpp"
#include "nodes/host_kernel.hpp"
#include "nodes/thrust/counts.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "thrust";

// hetero::mandelbrot_kernel's Thrust implementation (see DeviceCountsLauncher).
void launch_mandelbrot_counts(void* stream, Precision precision, Mode mode, const void* xs,
                              const void* ys, std::int64_t width, std::int64_t begin,
                              std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  thrust_device::transform_counts(precision == Precision::fp64, mode == Mode::fma, xs, ys, width,
                                  begin, end, max_iter, out, static_cast<cudaStream_t>(stream));
}

}  // namespace

ThrustNode::ThrustNode(const NodeOptions& options) : GpuNode(kName, options, kLanes) {}

void register_thrust(NodeRegistry& registry) {
  register_device_counts(DeviceFamily::thrust, &launch_mandelbrot_counts);
  registry.add(cuda::gpu_backend<ThrustNode>(kName, ThrustNode::kLanes));
}

}  // namespace hetero::nodes

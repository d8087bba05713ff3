// The cuda node, and the CUDA implementation of the Mandelbrot kernel.
#include "nodes/cuda/node.hpp"

#include "cuda/tile.hpp"
#include "hetero/registry.hpp"
#include "nodes/cuda/runtime.hpp"
#include "nodes/host_kernel.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "cuda";

// hetero::mandelbrot_kernel's CUDA implementation (see DeviceCountsLauncher).
void launch_mandelbrot_counts(void* stream, Precision precision, Mode mode, const void* xs,
                              const void* ys, std::int64_t width, std::int64_t begin,
                              std::int64_t end, std::uint32_t max_iter, std::uint32_t* out) {
  int device = 0;
  cudaGetDevice(&device);
  cuda::check(
      kernels::cuda::launch_counts(precision == Precision::fp64, mode == Mode::fma, xs, ys, width,
                                   begin, end, max_iter, out, static_cast<cudaStream_t>(stream)),
      kName, device, "launch of the Mandelbrot counts kernel");
}

}  // namespace

CudaNode::CudaNode(const NodeOptions& options) : GpuNode(kName, options, kStreams) {}

void register_cuda(NodeRegistry& registry) {
  register_device_counts(DeviceFamily::cuda, &launch_mandelbrot_counts);
  registry.add(cuda::gpu_backend<CudaNode>(kName, CudaNode::kStreams));
}

}  // namespace hetero::nodes

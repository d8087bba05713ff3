// The cuda node, and the CUDA implementation of the Mandelbrot kernel.
#include "nodes/cuda/node.hpp"

#include <atomic>
#include <stdexcept>

#include "cuda/tile.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "nodes/cuda/runtime.hpp"
#include "nodes/host_kernel.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "cuda";

// The counts kernel the Mandelbrot job runs: HETERO_CUDA_KERNEL as the last node read it.
std::atomic<kernels::cuda::CountsKernel> counts_kernel{kernels::cuda::CountsKernel::refill};

// hetero::mandelbrot_kernel's CUDA implementation (see DeviceCountsLauncher).
void launch_mandelbrot_counts(void* stream, Precision precision, Mode mode, const void* xs,
                              const void* ys, std::int64_t width, std::int64_t begin,
                              std::int64_t end, std::uint32_t max_iter, std::uint32_t* out,
                              std::uint64_t* iterations) {
  int device = 0;
  cudaGetDevice(&device);
  cuda::check(kernels::cuda::launch_counts(
                  precision == Precision::fp64, mode == Mode::fma, counts_kernel.load(), xs, ys,
                  width, begin, end, max_iter, out, iterations, static_cast<cudaStream_t>(stream)),
              kName, device, "launch of the Mandelbrot counts kernel");
}

// The kernel HETERO_CUDA_KERNEL names (refill when unset); a UsageError for any other value.
kernels::cuda::CountsKernel chosen_counts_kernel() {
  try {
    return kernels::cuda::counts_kernel_from_environment();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

CudaNode::CudaNode(const NodeOptions& options) : GpuNode(kName, options, kStreams) {
  counts_kernel = chosen_counts_kernel();
  // Loading the kernels' module falls here, outside any timed run.
  cuda::check(kernels::cuda::warm_up_counts_kernels(nullptr), kName, device(),
              "loading the Mandelbrot counts kernels");
  cuda::check(cudaStreamSynchronize(nullptr), kName, device(), "cudaStreamSynchronize");
}

void register_cuda(NodeRegistry& registry) {
  register_device_counts(DeviceFamily::cuda, &launch_mandelbrot_counts);
  registry.add(cuda::gpu_backend<CudaNode>(kName, CudaNode::kStreams));
}

}  // namespace hetero::nodes

// The thrust node's device side: one thrust::transform per tile.
#include "nodes/thrust/counts.hpp"

#include <string>

#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system_error.h>

#include "hetero/error.hpp"
#include "thrust/tile.cuh"

namespace hetero::nodes::thrust_device {
namespace {

using kernels::Arith;

template <class Real, Arith A>
void transform(const void* xs, const void* ys, std::int64_t width, std::int64_t begin,
               std::int64_t end, std::uint32_t max_iter, std::uint32_t* out, cudaStream_t stream) {
  kernels::thrust::tile<Real, A>(::thrust::cuda::par_nosync.on(stream),
                                 static_cast<const Real*>(xs), static_cast<const Real*>(ys), width,
                                 begin, end, max_iter, out + begin);
}

}  // namespace

void transform_counts(bool fp64, bool fma, const void* xs, const void* ys, std::int64_t width,
                      std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                      std::uint32_t* out, cudaStream_t stream) {
  if (end <= begin) return;
  try {
    if (fp64) {
      fma ? transform<double, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
          : transform<double, Arith::exact>(xs, ys, width, begin, end, max_iter, out, stream);
    } else {
      fma ? transform<float, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
          : transform<float, Arith::exact>(xs, ys, width, begin, end, max_iter, out, stream);
    }
  } catch (const ::thrust::system_error& e) {
    throw Error(std::string("thrust: thrust::transform of the Mandelbrot counts failed: ") +
                e.what());
  }
}

void warm_up() {
  // One pixel in each of the four transforms, on a pixel of the set (so a whole iteration loop
  // runs): CUDA loads each kernel's module on its first launch.
  void* memory = nullptr;
  if (cudaMalloc(&memory, 2 * sizeof(double) + sizeof(std::uint32_t)) != cudaSuccess) return;
  cudaMemset(memory, 0, 2 * sizeof(double) + sizeof(std::uint32_t));
  auto* axes = static_cast<double*>(memory);
  auto* out = reinterpret_cast<std::uint32_t*>(axes + 2);
  try {
    for (const bool fp64 : {false, true}) {
      for (const bool fma : {false, true}) {
        transform_counts(fp64, fma, axes, axes + 1, 1, 0, 1, 1, out, nullptr);
      }
    }
  } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the first run reports it
  }
  cudaStreamSynchronize(nullptr);
  cudaFree(memory);
  static_cast<void>(cudaGetLastError());
}

}  // namespace hetero::nodes::thrust_device

// The thrust node's device side: the Mandelbrot counts as one thrust::transform. Plain C++ on
// the outside, so host code never includes Thrust.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace hetero::nodes::thrust_device {

/// Enqueues the counts of pixels [begin, end) of an image `width` wide into out[pixel] (device
/// memory, indexed by pixel) as a thrust::transform on `stream`, without waiting for it
/// (thrust::cuda::par_nosync). Throws hetero::Error naming the call when Thrust fails.
void transform_counts(bool fp64, bool fma, const void* xs, const void* ys, std::int64_t width,
                      std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                      std::uint32_t* out, cudaStream_t stream);

/// Runs each transform once on one pixel of the current device and waits, so that loading the
/// kernels (CUDA loads a module on its first launch) falls outside timed runs. A failure is
/// left for the first run to report.
void warm_up();

}  // namespace hetero::nodes::thrust_device

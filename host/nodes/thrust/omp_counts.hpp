// The Mandelbrot counts on Thrust's OpenMP system: the thrust node's kernel source
// (kernels/thrust/tile.cuh) built by the host compiler with thrust::omp::par for its policy.
// Plain C++ on the outside, so no other file includes Thrust.
#pragma once

#include <cstdint>
#include <string>

namespace hetero::nodes::thrust_omp {

/// Computes the counts of pixels [begin, end) of an image `width` wide into out[pixel] and the
/// sum of the iterations they stand for, in one thrust::transform_reduce on every OpenMP thread;
/// returns that sum.
std::uint64_t transform_counts(bool fp64, bool fma, const void* xs, const void* ys,
                               std::int64_t width, std::int64_t begin, std::int64_t end,
                               std::uint32_t max_iter, std::uint32_t* out);

/// "Thrust 3.0.1": the Thrust this system was built with.
std::string system_version();

/// The OpenMP threads a parallel algorithm runs on (omp_get_max_threads).
int threads();

}  // namespace hetero::nodes::thrust_omp

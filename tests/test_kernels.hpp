// The kernels of the per-backend kernel suite (kernel_test.cpp). Each is built once per process,
// so that the ranks of an MPI job can be given the very kernels rank 0 runs (Runtime::serve in
// tests/mpi/backend_main.cpp). Each has one host loop, which the host nodes and Thrust's OpenMP
// system (thrust:omp) run, an OpenCL implementation, and, where nvcc built test_kernels.cu
// (HETERO_TEST_CUDA_KERNELS), a CUDA one that the cuda and thrust nodes run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "hetero/hetero.hpp"

#if defined(HETERO_TEST_CUDA_KERNELS)
#include "test_kernels_cuda.hpp"
#define HETERO_TEST_CUDA_LAUNCHER(name) &::hetero::test::cuda::name
#else
#define HETERO_TEST_CUDA_LAUNCHER(name) nullptr
#endif

namespace hetero::test {

/// `kernel` with `loop` as its host and Thrust OpenMP implementations, and `cuda_launcher` as its
/// CUDA one unless it is nullptr (a build without the suite's CUDA implementations).
template <class KernelType, class Loop, class Launcher>
KernelType suite_kernel(KernelType kernel, Loop loop, Launcher cuda_launcher) {
  kernel.host(loop).thrust_omp(loop);
  if constexpr (!std::is_null_pointer_v<Launcher>) kernel.cuda(cuda_launcher);
  return kernel;
}

inline constexpr const char* kSaxpySource = R"(
__kernel void saxpy(__global const float* x, __global const float* y, __global float* z, float a) {
  const size_t i = get_global_id(0);
  z[i] = a * x[i] + y[i];
})";

/// z = a x + y.
inline const auto& saxpy_kernel() {
  static const auto kernel =
      suite_kernel(
          Kernel<Tile1D, View<const float>, View<const float>, View<float>, float>("saxpy"),
          [](Tile1D tile, View<const float> x, View<const float> y, View<float> z, float a) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) z[i] = a * x[i] + y[i];
          },
          HETERO_TEST_CUDA_LAUNCHER(saxpy))
          .opencl(kSaxpySource, "saxpy")
          .exact();
  return kernel;
}

/// y[i] += x[n - 1 - i]: each tile reads the whole of x, and its own part of y.
inline const auto& reverse_add_kernel() {
  static const auto kernel =
      suite_kernel(
          Kernel<Tile1D, View<const double>, View<double>, std::int64_t>("reverse_add"),
          [](Tile1D tile, View<const double> x, View<double> y, std::int64_t n) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) y[i] += x[n - 1 - i];
          },
          HETERO_TEST_CUDA_LAUNCHER(reverse_add))
          .opencl(R"(
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
__kernel void reverse_add(__global const double* x, __global double* y, long n) {
  const size_t i = get_global_id(0);
  y[i] += x[n - 1 - i];
})",
                  "reverse_add");
  return kernel;
}

inline constexpr const char* kScaleRowsSource = R"(
__kernel void scale_rows(__global const float* in, __global const float* bias,
                         __global float* out, long in_pitch, long out_pitch) {
  const size_t x = get_global_id(0), y = get_global_id(1);
  out[y * out_pitch + x] = in[y * in_pitch + x] * 2.0f + bias[y];
})";

/// out(x, y) = 2 in(x, y) + bias[y], over pitched 2-D arrays.
inline const auto& scale_rows_kernel() {
  static const auto kernel =
      suite_kernel(
          Kernel<Tile2D, View2D<const float>, View<const float>, View2D<float>, std::int64_t,
                 std::int64_t>("scale_rows"),
          [](Tile2D tile, View2D<const float> source, View<const float> row_bias,
             View2D<float> target, std::int64_t, std::int64_t) {
            for (std::int64_t yy = tile.y_begin; yy < tile.y_end; ++yy) {
              for (std::int64_t xx = tile.x_begin; xx < tile.x_end; ++xx) {
                target(xx, yy) = source(xx, yy) * 2.0F + row_bias[yy];
              }
            }
          },
          HETERO_TEST_CUDA_LAUNCHER(scale_rows))
          .opencl(kScaleRowsSource, "scale_rows")
          .exact();
  return kernel;
}

inline constexpr const char* kBlurSource = R"(
__kernel void blur3(__global const float* in, __global float* out, long width, long height) {
  const long x = get_global_id(0), y = get_global_id(1);
  float sum = 0.0f;
  for (long dy = -1; dy <= 1; ++dy) {
    const long yy = clamp(y + dy, 0L, height - 1);
    for (long dx = -1; dx <= 1; ++dx) sum += in[yy * width + clamp(x + dx, 0L, width - 1)];
  }
  out[y * width + x] = sum / 9.0f;
})";

/// The 3x3 box blur of `in` (edges clamped) at (x, y): what blur3 computes, and the plain loop.
inline float blur_at(const float* in, std::int64_t width, std::int64_t height, std::int64_t x,
                     std::int64_t y) {
  float sum = 0.0F;
  for (std::int64_t dy = -1; dy <= 1; ++dy) {
    const std::int64_t yy = std::clamp<std::int64_t>(y + dy, 0, height - 1);
    for (std::int64_t dx = -1; dx <= 1; ++dx) {
      sum += in[yy * width + std::clamp<std::int64_t>(x + dx, 0, width - 1)];
    }
  }
  return sum / 9.0F;
}

/// blur3's host loop over a tile.
inline constexpr auto blur_loop = [](Tile2D tile, View2D<const float> in, View2D<float> out,
                                     std::int64_t width, std::int64_t height) {
  for (std::int64_t y = tile.y_begin; y < tile.y_end; ++y) {
    for (std::int64_t x = tile.x_begin; x < tile.x_end; ++x) {
      out(x, y) = blur_at(in.data(), width, height, x, y);
    }
  }
};

/// A 3x3 box blur over rows: each tile reads its rows and a halo of one row on each side.
inline const auto& blur_kernel() {
  static const auto kernel =
      suite_kernel(
          Kernel<Tile2D, View2D<const float>, View2D<float>, std::int64_t, std::int64_t>("blur3"),
          blur_loop, HETERO_TEST_CUDA_LAUNCHER(blur3))
          .opencl(kBlurSource, "blur3")
          .exact();
  return kernel;
}

/// Elements per partial of the dot product: its OpenCL work-items each sum one chunk.
inline constexpr std::int64_t kDotChunk = 1000;

inline constexpr const char* kDotSource = R"(
__kernel void dot_chunks(long begin, long end, __global const float* x, __global const float* y,
                  __global float* partials, long chunk) {
  const long first = begin + (long)get_global_id(0) * chunk;
  if (first >= end) return;
  const long last = min(first + chunk, end);
  float sum = 0.0f;
  for (long i = first; i < last; ++i) sum += x[i] * y[i];
  partials[first / chunk] = sum;
})";

/// The dot product of x and y through hetero::reduce: each chunk summed in order.
inline const auto& dot_kernel() {
  static const auto kernel =
      suite_kernel(
          Kernel<Tile1D, View<const float>, View<const float>, Reducer<float>, std::int64_t>("dot"),
          [](Tile1D tile, View<const float> x, View<const float> y, Reducer<float> sum,
             std::int64_t) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) sum[i] += x[i] * y[i];
          },
          HETERO_TEST_CUDA_LAUNCHER(dot))
          .opencl(kDotSource, "dot_chunks",
                  {.elements_per_item = kDotChunk, .tile_arguments = true})
          .exact();
  return kernel;
}

inline constexpr const char* kMaxFoldSource = R"(
__kernel void max_fold(long begin, long end, __global const float* x, __global float* partials,
                       long chunk) {
  const long first = begin + (long)get_global_id(0) * chunk;
  if (first >= end) return;
  const long last = min(first + chunk, end);
  float folded = partials[first / chunk];  // the op's identity, given by the runtime
  for (long i = first; i < last; ++i) folded = folded < x[i] ? x[i] : folded;
  partials[first / chunk] = folded;
})";

/// The largest element of x through hetero::reduce(result, Maximum{}): every implementation
/// folds into the partials it is given, so their starting value (the op's identity) shows.
inline const auto& max_fold_kernel() {
  static const auto kernel =
      suite_kernel(
          Kernel<Tile1D, View<const float>, Reducer<float>, std::int64_t>("max_fold"),
          [](Tile1D tile, View<const float> x, Reducer<float> folded, std::int64_t) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) {
              folded[i] = folded[i] < x[i] ? x[i] : folded[i];
            }
          },
          HETERO_TEST_CUDA_LAUNCHER(max_fold))
          .opencl(kMaxFoldSource, "max_fold",
                  {.elements_per_item = kDotChunk, .tile_arguments = true});
  return kernel;
}

/// What dot_kernel gives: the chunks' sums in order, each summed in order.
inline float chunked_dot(const std::vector<float>& x, const std::vector<float>& y,
                         std::int64_t chunk) {
  float total = 0.0F;
  for (std::size_t first = 0; first < x.size(); first += static_cast<std::size_t>(chunk)) {
    float partial = 0.0F;
    const std::size_t last = std::min(x.size(), first + static_cast<std::size_t>(chunk));
    for (std::size_t i = first; i < last; ++i) partial += x[i] * y[i];
    total += partial;
  }
  return total;
}

struct Blend2D {
  HETERO_HOST_DEVICE void operator()(std::int64_t x, std::int64_t y, View2D<const float> in,
                                     View2D<float> out, float weight) const {
    out(x, y) = weight * in(x, y) + static_cast<float>(y);
  }
};

/// A single-source element functor: out = weight in + y. Compiled by g++, it has a host
/// implementation only.
inline const auto& blend_kernel() {
  static const auto kernel = for_each_element_2d("blend2d", Blend2D{});
  return kernel;
}

}  // namespace hetero::test

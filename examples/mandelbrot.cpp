// The Mandelbrot set written by hand as a user would: a 2-D kernel over the seed grid of the
// PyCon 2013 tutorial with a host and an OpenCL implementation. Every node must give the counts
// of a plain loop, whose sum is the tutorial's 51,214,485.
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <vector>

#include "run_everywhere.hpp"

const char* const kMandelbrotOpenCL = R"(
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
__kernel void mandelbrot(__global const double* xs, __global const double* ys,
                         __global uint* counts, long width, uint max_iter) {
  const size_t column = get_global_id(0), row = get_global_id(1);
  const double cx = xs[column], cy = ys[row];
  double x = 0, y = 0;
  uint count = max_iter;
  for (uint i = 0; i < max_iter; ++i) {
    const double next_x = (x * x - y * y) + cx;
    const double next_y = (2 * x) * y + cy;
    x = next_x;
    y = next_y;
    if (x * x + y * y > 4) {
      count = i;
      break;
    }
  }
  counts[row * width + column] = count;
})";

// The iteration count of c = (cx, cy): the escape test after each update, no contraction.
std::uint32_t escape_count(double cx, double cy, std::uint32_t max_iter) {
  double x = 0, y = 0;
  for (std::uint32_t i = 0; i < max_iter; ++i) {
    const double next_x = (x * x - y * y) + cx;
    const double next_y = (2 * x) * y + cy;
    x = next_x;
    y = next_y;
    if (x * x + y * y > 4) return i;
  }
  return max_iter;
}

int main(int argc, char** argv) {
  using namespace hetero;
  const auto mandelbrot =
      Kernel<Tile2D, View<const double>, View<const double>, View2D<std::uint32_t>, std::int64_t,
             std::uint32_t>("mandelbrot")
          .host([](Tile2D tile, View<const double> xs, View<const double> ys,
                   View2D<std::uint32_t> counts, std::int64_t, std::uint32_t max_iter) {
            for (std::int64_t row = tile.y_begin; row < tile.y_end; ++row) {
              for (std::int64_t column = tile.x_begin; column < tile.x_end; ++column) {
                counts(column, row) = escape_count(xs[column], ys[row], max_iter);
              }
            }
          })
          .opencl(kMandelbrotOpenCL, "mandelbrot")
          .exact();
  if (auto status = Runtime::serve(argc, argv, mandelbrot)) return *status;  // MPI ranks above 0

  // The seed grid as hetero builds it: 500 x 500 points, max-iter 1000.
  const JobSpec seed = resolve_job(JobRequest{});
  const Axes axes = make_axes(seed);
  const std::int64_t width = seed.width, height = seed.height;
  std::vector<std::uint32_t> expected(static_cast<std::size_t>(width * height));
  for (std::int64_t row = 0; row < height; ++row) {
    for (std::int64_t column = 0; column < width; ++column) {
      expected[static_cast<std::size_t>(row * width + column)] =
          escape_count(axes.xs[column], axes.ys[row], seed.max_iter);
    }
  }
  const std::uint64_t sum = std::accumulate(expected.begin(), expected.end(), std::uint64_t{0});
  std::printf("plain loop: seed counts sum to %llu\n", static_cast<unsigned long long>(sum));
  if (sum != 51214485) return 1;

  return examples::run_everywhere(
      argc, argv, "mandelbrot", [](const std::string&) { return true; },
      [&](Runtime& runtime) {
        std::vector<std::uint32_t> counts(expected.size());
        LaunchOptions options;
        options.tile = width * 4;  // bands of 4 rows: the set's interior is spread over many
        runtime.run(mandelbrot, Grid2D{width, height}, read(axes.xs), read(axes.ys),
                    write(span2d(counts, width, height)), width, seed.max_iter, options);
        return counts == expected;
      });
}

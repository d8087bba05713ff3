// A 3x3 box blur of a generated image: each tile reads its rows and a halo of one row on each
// side (hetero::read_halo), so a device node copies in only those rows.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "run_everywhere.hpp"

const char* const kBlurOpenCL = R"(
__kernel void blur(__global const float* in, __global float* out, long width, long height) {
  const long x = get_global_id(0), y = get_global_id(1);
  float sum = 0.0f;
  for (long dy = -1; dy <= 1; ++dy)
    for (long dx = -1; dx <= 1; ++dx)
      sum += in[clamp(y + dy, 0L, height - 1) * width + clamp(x + dx, 0L, width - 1)];
  out[y * width + x] = sum / 9.0f;
})";

// The blurred pixel (x, y), edges clamped: the host implementation and the plain loop.
float blurred(const float* in, std::int64_t width, std::int64_t height, std::int64_t x,
              std::int64_t y) {
  float sum = 0.0f;
  for (std::int64_t dy = -1; dy <= 1; ++dy) {
    for (std::int64_t dx = -1; dx <= 1; ++dx) {
      sum += in[std::clamp<std::int64_t>(y + dy, 0, height - 1) * width +
                std::clamp<std::int64_t>(x + dx, 0, width - 1)];
    }
  }
  return sum / 9.0f;
}

int main(int argc, char** argv) {
  using namespace hetero;
  const auto blur =
      Kernel<Tile2D, View2D<const float>, View2D<float>, std::int64_t, std::int64_t>("blur")
          .host([](Tile2D tile, View2D<const float> in, View2D<float> out, std::int64_t width,
                   std::int64_t height) {
            for (std::int64_t y = tile.y_begin; y < tile.y_end; ++y) {
              for (std::int64_t x = tile.x_begin; x < tile.x_end; ++x) {
                out(x, y) = blurred(in.data(), width, height, x, y);
              }
            }
          })
          .opencl(kBlurOpenCL, "blur")
          .exact();
  if (auto status = Runtime::serve(argc, argv, blur)) return *status;  // MPI ranks above 0

  // A generated image: rings and a ramp, 800 x 600.
  const std::int64_t width = 800, height = 600;
  std::vector<float> image(width * height), expected(image.size());
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      const std::int64_t dx = x - width / 2, dy = y - height / 2;
      image[y * width + x] = static_cast<float>((dx * dx + dy * dy) / 97 % 2) + 0.001f * x;
    }
  }
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      expected[y * width + x] = blurred(image.data(), width, height, x, y);
    }
  }
  return examples::run_everywhere(
      argc, argv, "blur", [](const std::string&) { return true; },
      [&](Runtime& runtime) {
        std::vector<float> out(image.size());
        LaunchOptions options;
        options.tile = 16 * width;  // bands of 16 rows, each reading 18
        runtime.run(blur, Grid2D{width, height},
                    read_halo(span2d(std::as_const(image), width, height), 1),
                    write(span2d(out, width, height)), width, height, options);
        return out == expected;
      });
}

// A two-kernel pipeline over registered arrays: blur a generated image (each band of rows reads
// one row more on each side, hetero::read_halo), then sharpen it against the blur. The blurred
// image is an intermediate that stays on the node that computed it: zero bytes cross a link
// between the kernels. Checks the result against a plain loop, the halo bytes against the rows
// each device node lacked, and prints what moved.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "run_everywhere.hpp"

const char* const kPipelineOpenCL = R"(
__kernel void blur(__global const float* in, __global float* out, long width, long height) {
  const long x = get_global_id(0), y = get_global_id(1);
  float sum = 0.0f;
  for (long dy = -1; dy <= 1; ++dy)
    for (long dx = -1; dx <= 1; ++dx)
      sum += in[clamp(y + dy, 0L, height - 1) * width + clamp(x + dx, 0L, width - 1)];
  out[y * width + x] = sum / 9.0f;
}
__kernel void sharpen(__global const float* in, __global const float* blurred,
                      __global float* out, long width) {
  const long i = get_global_id(1) * width + get_global_id(0);
  out[i] = in[i] + (in[i] - blurred[i]);
})";

// The blurred pixel (x, y), edges clamped: the host implementation and the plain loop.
float blurred_at(const float* in, std::int64_t width, std::int64_t height, std::int64_t x,
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

constexpr std::int64_t kWidth = 800, kHeight = 600, kBandRows = 16;

// The halo rows a device node copies when it runs contiguous bands in order: each band's row
// below it (the next band then holds it), and the row above its first band, except at the
// image's edges.
std::uint64_t expected_halo_rows(const hetero::Trace& trace, int node) {
  std::int64_t bands = 0, first = kHeight, last = 0;
  for (const hetero::TraceEvent& event : trace.events) {
    if (event.kind != hetero::EventKind::compute || event.node != node) continue;
    ++bands;
    first = std::min(first, event.tile * kBandRows);
    last = std::max(last, std::min(kHeight, (event.tile + 1) * kBandRows));
  }
  if (bands == 0) return 0;
  return static_cast<std::uint64_t>(bands - (last == kHeight ? 1 : 0) + (first > 0 ? 1 : 0));
}

int main(int argc, char** argv) {
  using namespace hetero;
  const auto blur =
      Kernel<Tile2D, View2D<const float>, View2D<float>, std::int64_t, std::int64_t>("blur")
          .host([](Tile2D tile, View2D<const float> in, View2D<float> out, std::int64_t width,
                   std::int64_t height) {
            for (std::int64_t y = tile.y_begin; y < tile.y_end; ++y) {
              for (std::int64_t x = tile.x_begin; x < tile.x_end; ++x) {
                out(x, y) = blurred_at(in.data(), width, height, x, y);
              }
            }
          })
          .opencl(kPipelineOpenCL, "blur")
          .exact();
  const auto sharpen =
      Kernel<Tile2D, View2D<const float>, View2D<const float>, View2D<float>, std::int64_t>(
          "sharpen")
          .host([](Tile2D tile, View2D<const float> in, View2D<const float> blurred,
                   View2D<float> out, std::int64_t) {
            for (std::int64_t y = tile.y_begin; y < tile.y_end; ++y) {
              for (std::int64_t x = tile.x_begin; x < tile.x_end; ++x) {
                out(x, y) = in(x, y) + (in(x, y) - blurred(x, y));
              }
            }
          })
          .opencl(kPipelineOpenCL, "sharpen")
          .exact();
  if (auto status = Runtime::serve(argc, argv, blur, sharpen)) return *status;

  // A generated image, rings and a ramp, and the plain loop's answer.
  std::vector<float> image(kWidth * kHeight), expected(image.size());
  for (std::int64_t y = 0; y < kHeight; ++y) {
    for (std::int64_t x = 0; x < kWidth; ++x) {
      const std::int64_t dx = x - kWidth / 2, dy = y - kHeight / 2;
      image[y * kWidth + x] = static_cast<float>((dx * dx + dy * dy) / 97 % 2) + 0.001f * x;
    }
  }
  for (std::int64_t i = 0; i < kWidth * kHeight; ++i) {
    const float blurred = blurred_at(image.data(), kWidth, kHeight, i % kWidth, i / kWidth);
    expected[i] = image[i] + (image[i] - blurred);
  }

  return examples::run_everywhere(
      argc, argv, "sharpen", [](const std::string&) { return true; },
      [&](Runtime& runtime) {
        Array2D<float> in(kWidth, kHeight), blurred(kWidth, kHeight), out(kWidth, kHeight);
        {
          auto host = in.acquire_write();
          std::copy(image.begin(), image.end(), host.view().data);
        }
        // Both kernels split the rows alike (static), so each band of the blur is sharpened
        // where it was computed.
        LaunchOptions bands;
        bands.policy = Policy::static_split;
        bands.tile = kBandRows * kWidth;
        const LaunchResult first = runtime.run(blur, Grid2D{kWidth, kHeight}, read_halo(in, 1),
                                               write(blurred), kWidth, kHeight, bands);
        runtime.run(sharpen, Grid2D{kWidth, kHeight}, read_slice(in), read_slice(blurred),
                    write(out), kWidth, bands);

        bool right = blurred.transfers().total() == 0;
        const std::size_t row = kWidth * sizeof(float);
        for (std::size_t i = 0; i < first.report.nodes.size(); ++i) {
          const NodeReport& node = first.report.nodes[i];
          const std::uint64_t halo_rows = node.kind == NodeKind::device
                                              ? expected_halo_rows(first.trace, static_cast<int>(i))
                                              : 0;
          right = right && node.transfers.halo == halo_rows * row;
          std::printf("  %s: %llu halo bytes (%llu rows) with its %lld rows\n", node.name.c_str(),
                      static_cast<unsigned long long>(node.transfers.halo),
                      static_cast<unsigned long long>(node.transfers.halo / row),
                      static_cast<long long>(node.pixels / kWidth));
        }
        const auto result = out.acquire_read();
        std::printf("  bytes between the kernels: %llu; results back to the host: %llu\n",
                    static_cast<unsigned long long>(blurred.transfers().total()),
                    static_cast<unsigned long long>(out.transfers().total()));
        return right && std::equal(expected.begin(), expected.end(), result.view().data);
      });
}

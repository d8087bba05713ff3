// A dot product through hetero::reduce: each tile sums its chunks of 4096 elements in order, and
// the runtime folds the chunks' sums in order, so every node, split and policy gives the same
// bits as the plain loop that sums the same chunks.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "run_everywhere.hpp"

constexpr std::int64_t kChunk = 4096;

const char* const kDotOpenCL = R"(
__kernel void dot_chunks(long begin, long end, __global const float* x, __global const float* y,
                         __global float* partials, long chunk) {
  const long first = begin + (long)get_global_id(0) * chunk;   // one work-item per chunk
  if (first >= end) return;
  const long last = min(first + chunk, end);
  float sum = 0.0f;
  for (long i = first; i < last; ++i) sum += x[i] * y[i];
  partials[first / chunk] = sum;
})";

int main(int argc, char** argv) {
  using namespace hetero;
  const auto dot =
      Kernel<Tile1D, View<const float>, View<const float>, Reducer<float>, std::int64_t>("dot")
          .host([](Tile1D tile, View<const float> x, View<const float> y, Reducer<float> sum,
                   std::int64_t) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) sum[i] += x[i] * y[i];
          })
          .opencl(kDotOpenCL, "dot_chunks", {.elements_per_item = kChunk, .tile_arguments = true})
          .exact();
  if (auto status = Runtime::serve(argc, argv, dot)) return *status;

  const std::int64_t n = 3'000'017;
  std::vector<float> x(n), y(n);
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i % 1000) * 0.001f;
    y[i] = static_cast<float>((i * 7) % 13) - 6.0f;
  }
  float expected = 0.0f;  // the chunks' sums, in order
  for (std::int64_t first = 0; first < n; first += kChunk) {
    float partial = 0.0f;
    for (std::int64_t i = first; i < std::min(n, first + kChunk); ++i) partial += x[i] * y[i];
    expected += partial;
  }
  return examples::run_everywhere(
      argc, argv, "dot", [](const std::string&) { return true; },
      [&](Runtime& runtime) {
        float result = 0.0f;
        runtime.run(dot, Grid1D{n}, read_slice(x), read_slice(y), reduce(result, Plus{}, kChunk),
                    kChunk);
        std::printf("  dot = %.9g\n", static_cast<double>(result));
        return result == expected;
      });
}

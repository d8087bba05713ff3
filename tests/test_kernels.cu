// The kernel suite's CUDA implementations (test_kernels_cuda.hpp): one thread per element (per
// chunk for the dot product's partials), each computing what the host loop computes for it.
#include <cuda_runtime.h>

#include "hetero/element.hpp"
#include "test_kernels_cuda.hpp"

namespace hetero::test::cuda {
namespace {

constexpr int kThreads = 256;

__device__ std::int64_t clamped(std::int64_t value, std::int64_t low, std::int64_t high) {
  return value < low ? low : value > high ? high : value;
}

// Blocks of kThreads covering `count` elements, none for an empty range.
unsigned blocks_for(std::int64_t count) {
  return count <= 0 ? 0U : static_cast<unsigned>((count + kThreads - 1) / kThreads);
}

// CUDA's limit on a grid's rows: a tile of more rows is covered by rows of blocks that stride.
constexpr std::int64_t kMaxGridRows = 65535;

// The 2-D launch over a tile: kThreads columns per block, a row of blocks per tile row (up to
// kMaxGridRows).
dim3 grid_for(const Tile2D& tile) {
  const std::int64_t rows = tile.y_end - tile.y_begin;
  return dim3(blocks_for(tile.x_end - tile.x_begin),
              static_cast<unsigned>(rows < kMaxGridRows ? rows : kMaxGridRows));
}

__device__ std::int64_t element_1d(const Tile1D& tile) {
  return tile.begin + static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// Runs `body(x, y)` for this thread's column of the tile in each row it strides over.
template <class Body>
__device__ void for_rows(const Tile2D& tile, Body body) {
  const std::int64_t x =
      tile.x_begin + static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (x >= tile.x_end) return;
  for (std::int64_t y = tile.y_begin + blockIdx.y; y < tile.y_end; y += gridDim.y) body(x, y);
}

__global__ void saxpy_kernel(Tile1D tile, View<const float> x, View<const float> y, View<float> z,
                             float a) {
  const std::int64_t i = element_1d(tile);
  if (i < tile.end) z[i] = a * x[i] + y[i];
}

__global__ void reverse_add_kernel(Tile1D tile, View<const double> x, View<double> y,
                                   std::int64_t n) {
  const std::int64_t i = element_1d(tile);
  if (i < tile.end) y[i] += x[n - 1 - i];
}

__global__ void scale_rows_kernel(Tile2D tile, View2D<const float> source,
                                  View<const float> row_bias, View2D<float> target) {
  for_rows(tile, [&](std::int64_t x, std::int64_t y) {
    target(x, y) = source(x, y) * 2.0F + row_bias[y];
  });
}

__global__ void blur3_kernel(Tile2D tile, View2D<const float> in, View2D<float> out,
                             std::int64_t width, std::int64_t height) {
  for_rows(tile, [&](std::int64_t x, std::int64_t y) {
    float sum = 0.0F;
    for (std::int64_t dy = -1; dy <= 1; ++dy) {
      const std::int64_t yy = clamped(y + dy, 0, height - 1);
      for (std::int64_t dx = -1; dx <= 1; ++dx) sum += in(clamped(x + dx, 0, width - 1), yy);
    }
    out(x, y) = sum / 9.0F;
  });
}

// The elements [first, last) of this thread's chunk of the tile (a tile covers whole chunks);
// false past the tile's last chunk.
__device__ bool thread_chunk(const Tile1D& tile, std::int64_t chunk, std::int64_t& first,
                             std::int64_t& last) {
  first = tile.begin + (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * chunk;
  last = first + chunk < tile.end ? first + chunk : tile.end;
  return first < tile.end;
}

// One thread per chunk: its partial, summed in order.
__global__ void dot_kernel(Tile1D tile, View<const float> x, View<const float> y,
                           Reducer<float> sum) {
  std::int64_t first = 0, last = 0;
  if (!thread_chunk(tile, sum.chunk(), first, last)) return;
  float partial = sum[first];
  for (std::int64_t i = first; i < last; ++i) partial += x[i] * y[i];
  sum[first] = partial;
}

// One thread per chunk: the largest of its elements, folded into its partial.
__global__ void max_fold_kernel(Tile1D tile, View<const float> x, Reducer<float> folded) {
  std::int64_t first = 0, last = 0;
  if (!thread_chunk(tile, folded.chunk(), first, last)) return;
  float largest = folded[first];
  for (std::int64_t i = first; i < last; ++i) largest = largest < x[i] ? x[i] : largest;
  folded[first] = largest;
}

__global__ void increment_kernel(Tile1D tile, View<float> x) {
  const std::int64_t i = element_1d(tile);
  if (i < tile.end) x[i] += 1.0F;
}

__global__ void scale_kernel(Tile1D tile, View<const float> in, View<float> out, float a) {
  const std::int64_t i = element_1d(tile);
  if (i < tile.end) out[i] = a * in[i];
}

__global__ void reverse_kernel(Tile1D tile, View<const float> in, View<float> out, std::int64_t n) {
  const std::int64_t i = element_1d(tile);
  if (i < tile.end) out[i] = in[n - 1 - i];
}

__global__ void column_sum_kernel(Tile2D tile, View2D<const float> in, View2D<float> out,
                                  std::int64_t height) {
  for_rows(tile, [&](std::int64_t x, std::int64_t y) {
    float sum = 0.0F;
    for (std::int64_t dy = -1; dy <= 1; ++dy) sum += in(x, clamped(y + dy, 0, height - 1));
    out(x, y) = sum;
  });
}

// weighted_plus_row's element functor.
struct WeightedPlusRow {
  HETERO_HOST_DEVICE void operator()(std::int64_t x, std::int64_t y, View2D<const float> in,
                                     View2D<float> out, float weight) const {
    out(x, y) = weight * in(x, y) + static_cast<float>(y);
  }
};

// Blocks of one thread per chunk of `tile`.
unsigned chunk_blocks(const Tile1D& tile, std::int64_t chunk) {
  return blocks_for((tile.size() + chunk - 1) / chunk);
}

cudaStream_t as_stream(void* stream) {
  return static_cast<cudaStream_t>(stream);
}

}  // namespace

const Kernel<Tile2D, View2D<const float>, View2D<float>, float>& weighted_plus_row() {
  static const auto kernel = for_each_element_2d("weighted_plus_row", WeightedPlusRow{});
  return kernel;
}

void saxpy(void* stream, Tile1D tile, View<const float> x, View<const float> y, View<float> z,
           float a) {
  if (const unsigned blocks = blocks_for(tile.size())) {
    saxpy_kernel<<<blocks, kThreads, 0, as_stream(stream)>>>(tile, x, y, z, a);
  }
}

void reverse_add(void* stream, Tile1D tile, View<const double> x, View<double> y, std::int64_t n) {
  if (const unsigned blocks = blocks_for(tile.size())) {
    reverse_add_kernel<<<blocks, kThreads, 0, as_stream(stream)>>>(tile, x, y, n);
  }
}

void scale_rows(void* stream, Tile2D tile, View2D<const float> source, View<const float> row_bias,
                View2D<float> target, std::int64_t /*width*/, std::int64_t /*height*/) {
  const dim3 grid = grid_for(tile);
  if (grid.x > 0 && grid.y > 0) {
    scale_rows_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(tile, source, row_bias, target);
  }
}

void blur3(void* stream, Tile2D tile, View2D<const float> in, View2D<float> out, std::int64_t width,
           std::int64_t height) {
  const dim3 grid = grid_for(tile);
  if (grid.x > 0 && grid.y > 0) {
    blur3_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(tile, in, out, width, height);
  }
}

void dot(void* stream, Tile1D tile, View<const float> x, View<const float> y, Reducer<float> sum,
         std::int64_t /*chunk: the reducer's*/) {
  if (const unsigned blocks = chunk_blocks(tile, sum.chunk())) {
    dot_kernel<<<blocks, kThreads, 0, as_stream(stream)>>>(tile, x, y, sum);
  }
}

void max_fold(void* stream, Tile1D tile, View<const float> x, Reducer<float> folded,
              std::int64_t /*chunk: the reducer's*/) {
  if (const unsigned blocks = chunk_blocks(tile, folded.chunk())) {
    max_fold_kernel<<<blocks, kThreads, 0, as_stream(stream)>>>(tile, x, folded);
  }
}

void increment(void* stream, Tile1D tile, View<float> x) {
  if (const unsigned blocks = blocks_for(tile.size())) {
    increment_kernel<<<blocks, kThreads, 0, as_stream(stream)>>>(tile, x);
  }
}

void scale(void* stream, Tile1D tile, View<const float> in, View<float> out, float a) {
  if (const unsigned blocks = blocks_for(tile.size())) {
    scale_kernel<<<blocks, kThreads, 0, as_stream(stream)>>>(tile, in, out, a);
  }
}

void reverse(void* stream, Tile1D tile, View<const float> in, View<float> out, std::int64_t n) {
  if (const unsigned blocks = blocks_for(tile.size())) {
    reverse_kernel<<<blocks, kThreads, 0, as_stream(stream)>>>(tile, in, out, n);
  }
}

void column_sum(void* stream, Tile2D tile, View2D<const float> in, View2D<float> out,
                std::int64_t /*pitch: the views'*/, std::int64_t height) {
  const dim3 grid = grid_for(tile);
  if (grid.x > 0 && grid.y > 0) {
    column_sum_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(tile, in, out, height);
  }
}

}  // namespace hetero::test::cuda

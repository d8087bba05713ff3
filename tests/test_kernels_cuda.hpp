// The CUDA implementations of the per-backend kernel suite's kernels (test_kernels.hpp) and of the
// registered-array tests' (array_test.cpp), built by nvcc from test_kernels.cu where this build
// has CUDA: each launcher enqueues its kernel over the
// tile on the node's stream, with the same arithmetic, in the same order, as the host
// implementation (exact: no contraction), so that a GPU gives the host's bits.
#pragma once

#include <cstdint>

#include "hetero/kernel.hpp"

namespace hetero::test::cuda {

void saxpy(void* stream, Tile1D tile, View<const float> x, View<const float> y, View<float> z,
           float a);
void reverse_add(void* stream, Tile1D tile, View<const double> x, View<double> y, std::int64_t n);
void scale_rows(void* stream, Tile2D tile, View2D<const float> source, View<const float> row_bias,
                View2D<float> target, std::int64_t width, std::int64_t height);
void blur3(void* stream, Tile2D tile, View2D<const float> in, View2D<float> out, std::int64_t width,
           std::int64_t height);
void dot(void* stream, Tile1D tile, View<const float> x, View<const float> y, Reducer<float> sum,
         std::int64_t chunk);
void max_fold(void* stream, Tile1D tile, View<const float> x, Reducer<float> folded,
              std::int64_t chunk);

/// out(x, y) = weight in(x, y) + y, an element functor compiled by nvcc: its host implementation
/// and its CUDA one.
const Kernel<Tile2D, View2D<const float>, View2D<float>, float>& weighted_plus_row();

// array_test.cpp's kernels.
void increment(void* stream, Tile1D tile, View<float> x);
void scale(void* stream, Tile1D tile, View<const float> in, View<float> out, float a);
void reverse(void* stream, Tile1D tile, View<const float> in, View<float> out, std::int64_t n);
void column_sum(void* stream, Tile2D tile, View2D<const float> in, View2D<float> out,
                std::int64_t pitch, std::int64_t height);

}  // namespace hetero::test::cuda

// Single-source kernels: one element functor gives a kernel's host implementation and, when the
// file is compiled by nvcc, its CUDA implementation too (Kokkos' KOKKOS_LAMBDA contract).
//
// The functor is passed by value to every node, so it must be trivially copyable and hold only
// values: no raw host pointers; arrays reach it as hetero views. Its call operator is marked
// HETERO_HOST_DEVICE and takes the element's index (1-D: i; 2-D: x, y) then the kernel's
// parameters:
//
//   struct Saxpy {
//     HETERO_HOST_DEVICE void operator()(std::int64_t i, hetero::View<const float> x,
//                                        hetero::View<float> y, float a) const {
//       y[i] = a * x[i] + y[i];
//     }
//   };
//   auto saxpy = hetero::for_each_element("saxpy", Saxpy{});
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "hetero/kernel.hpp"

namespace hetero {
namespace detail {

template <class F>
struct ElementSignature : ElementSignature<decltype(&F::operator())> {};
template <class C, class R, class... Params>
struct ElementSignature<R (C::*)(std::int64_t, Params...) const> {
  using kernel = Kernel<Tile1D, std::remove_cvref_t<Params>...>;
};
template <class F>
struct ElementSignature2D : ElementSignature2D<decltype(&F::operator())> {};
template <class C, class R, class... Params>
struct ElementSignature2D<R (C::*)(std::int64_t, std::int64_t, Params...) const> {
  using kernel = Kernel<Tile2D, std::remove_cvref_t<Params>...>;
};

#if defined(__CUDACC__)
constexpr int kElementThreads = 256;

template <class F, class... Params>
__global__ void element_kernel_1d(F functor, std::int64_t begin, std::int64_t end,
                                  Params... params) {
  const std::int64_t i = begin + static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < end) functor(i, params...);
}

// CUDA's limit on a grid's rows (gridDim.y): a tile of more rows is covered by block rows that
// stride over it.
constexpr std::int64_t kElementGridRows = 65535;

template <class F, class... Params>
__global__ void element_kernel_2d(F functor, Tile2D tile, Params... params) {
  const std::int64_t x =
      tile.x_begin + static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (x >= tile.x_end) return;
  for (std::int64_t y = tile.y_begin + blockIdx.y; y < tile.y_end; y += gridDim.y) {
    functor(x, y, params...);
  }
}
#endif

template <class KernelType, class F>
struct ElementKernel;
template <class F, class... Params>
struct ElementKernel<Kernel<Tile1D, Params...>, F> {
  static Kernel<Tile1D, Params...> make(std::string name, F functor) {
    Kernel<Tile1D, Params...> kernel(std::move(name));
    kernel.host([functor](Tile1D tile, Params... params) {
      for (std::int64_t i = tile.begin; i < tile.end; ++i) functor(i, params...);
    });
#if defined(__CUDACC__)
    kernel.cuda([functor](void* stream, Tile1D tile, Params... params) {
      const std::int64_t blocks = (tile.size() + kElementThreads - 1) / kElementThreads;
      if (blocks == 0) return;
      element_kernel_1d<<<static_cast<unsigned>(blocks), kElementThreads, 0,
                          static_cast<cudaStream_t>(stream)>>>(functor, tile.begin, tile.end,
                                                               params...);
    });
#endif
    return kernel;
  }
};
template <class F, class... Params>
struct ElementKernel<Kernel<Tile2D, Params...>, F> {
  static Kernel<Tile2D, Params...> make(std::string name, F functor) {
    Kernel<Tile2D, Params...> kernel(std::move(name));
    kernel.host([functor](Tile2D tile, Params... params) {
      for (std::int64_t y = tile.y_begin; y < tile.y_end; ++y) {
        for (std::int64_t x = tile.x_begin; x < tile.x_end; ++x) functor(x, y, params...);
      }
    });
#if defined(__CUDACC__)
    kernel.cuda([functor](void* stream, Tile2D tile, Params... params) {
      const std::int64_t columns =
          (tile.x_end - tile.x_begin + kElementThreads - 1) / kElementThreads;
      const std::int64_t rows = tile.y_end - tile.y_begin;
      if (columns <= 0 || rows <= 0) return;
      const dim3 grid(static_cast<unsigned>(columns),
                      static_cast<unsigned>(rows < kElementGridRows ? rows : kElementGridRows));
      element_kernel_2d<<<grid, kElementThreads, 0, static_cast<cudaStream_t>(stream)>>>(
          functor, tile, params...);
    });
#endif
    return kernel;
  }
};

}  // namespace detail

/// A 1-D kernel from an element functor `f(i, params...)`: the host implementation loops over
/// a tile; compiled by nvcc, the CUDA implementation runs one thread per element.
template <class F>
auto for_each_element(std::string name, F functor) {
  static_assert(std::is_trivially_copyable_v<F>,
                "an element functor is copied to every node: make it trivially copyable");
  using KernelType = typename detail::ElementSignature<F>::kernel;
  return detail::ElementKernel<KernelType, F>::make(std::move(name), functor);
}

/// A 2-D kernel from an element functor `f(x, y, params...)`.
template <class F>
auto for_each_element_2d(std::string name, F functor) {
  static_assert(std::is_trivially_copyable_v<F>,
                "an element functor is copied to every node: make it trivially copyable");
  using KernelType = typename detail::ElementSignature2D<F>::kernel;
  return detail::ElementKernel<KernelType, F>::make(std::move(name), functor);
}

}  // namespace hetero

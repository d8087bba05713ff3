// The CUDA tile kernel instantiated for fp32/fp64 x exact/fma, and its launcher.
#include "cuda/tile.cuh"
#include "cuda/tile.hpp"

namespace hetero::kernels::cuda {
namespace {

template <class Real, Arith A>
cudaError_t launch(const TileLaunch& tile, int max_blocks, cudaStream_t stream) {
  if (tile.pixels <= 0) return cudaSuccess;
  if (const cudaError_t status =
          cudaMemsetAsync(tile.chunk_counter, 0, sizeof(unsigned long long), stream);
      status != cudaSuccess) {
    return status;
  }
  constexpr std::int64_t kWarpsPerBlock = kBlockThreads / kWarpThreads;
  const std::int64_t chunks = (tile.pixels + kChunkPixels - 1) / kChunkPixels;
  const std::int64_t useful_blocks = (chunks + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const auto blocks = static_cast<unsigned>(
      useful_blocks < max_blocks ? useful_blocks : (max_blocks > 0 ? max_blocks : 1));
  tile_kernel<Real, A><<<blocks, kBlockThreads, 0, stream>>>(
      static_cast<const Real*>(tile.xs), static_cast<const Real*>(tile.ys), tile.width, tile.begin,
      tile.pixels, tile.max_iter, tile.out, tile.chunk_counter);
  return cudaGetLastError();
}

template <class Real, Arith A>
cudaError_t occupancy(int* blocks) {
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, tile_kernel<Real, A>, kBlockThreads,
                                                       0);
}

template <class Real, Arith A>
cudaError_t launch_counts(const void* xs, const void* ys, std::int64_t width, std::int64_t begin,
                          std::int64_t end, std::uint32_t max_iter, std::uint32_t* out,
                          cudaStream_t stream) {
  if (end <= begin) return cudaSuccess;
  const auto blocks = static_cast<unsigned>((end - begin + kBlockThreads - 1) / kBlockThreads);
  counts_kernel<Real, A><<<blocks, kBlockThreads, 0, stream>>>(
      static_cast<const Real*>(xs), static_cast<const Real*>(ys), width, begin, end, max_iter, out);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_counts(bool fp64, bool fma, const void* xs, const void* ys, std::int64_t width,
                          std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                          std::uint32_t* out, cudaStream_t stream) {
  if (fp64) {
    return fma ? launch_counts<double, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
               : launch_counts<double, Arith::exact>(xs, ys, width, begin, end, max_iter, out,
                                                     stream);
  }
  return fma ? launch_counts<float, Arith::fma>(xs, ys, width, begin, end, max_iter, out, stream)
             : launch_counts<float, Arith::exact>(xs, ys, width, begin, end, max_iter, out, stream);
}

cudaError_t resident_blocks_per_multiprocessor(bool fp64, bool fma, int* blocks) {
  if (fp64) {
    return fma ? occupancy<double, Arith::fma>(blocks) : occupancy<double, Arith::exact>(blocks);
  }
  return fma ? occupancy<float, Arith::fma>(blocks) : occupancy<float, Arith::exact>(blocks);
}

cudaError_t launch_tile(bool fp64, bool fma, const TileLaunch& tile, int max_blocks,
                        cudaStream_t stream) {
  if (fp64) {
    return fma ? launch<double, Arith::fma>(tile, max_blocks, stream)
               : launch<double, Arith::exact>(tile, max_blocks, stream);
  }
  return fma ? launch<float, Arith::fma>(tile, max_blocks, stream)
             : launch<float, Arith::exact>(tile, max_blocks, stream);
}

}  // namespace hetero::kernels::cuda

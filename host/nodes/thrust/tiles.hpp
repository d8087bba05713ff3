// The thrust node's device side: the job's axes and a tile's counts in thrust::device_vector,
// each tile one thrust::transform. Plain C++ on the outside, so host code never includes
// Thrust; failures are thrown as hetero::Error naming the call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <cuda_runtime_api.h>

namespace hetero {
class MemorySpace;
}

namespace hetero::nodes::thrust_device {

enum class Axis : std::uint8_t { x, y };

class Tiles {
 public:
  /// Vectors on the current device, their memory taken from `space` (which must outlive
  /// this object).
  Tiles(MemorySpace& space, int device);
  ~Tiles();
  Tiles(const Tiles&) = delete;
  Tiles& operator=(const Tiles&) = delete;

  /// Copies one axis of the job to the device (synchronous), replacing an earlier job's.
  void upload(Axis axis, const double* values, std::size_t count);
  void upload(Axis axis, const float* values, std::size_t count);

  /// Makes room for `pixels` counts on the device (synchronous); throws OutOfMemory when the
  /// device memory or its cap cannot hold them.
  void reserve(std::size_t pixels);

  /// Bytes the device counts hold now.
  std::size_t capacity_bytes() const;

  /// Computes pixels [begin, end) of an image `width` wide into the device counts (room for
  /// them reserved) with the uploaded axes of the given precision, on `stream`; returns once
  /// they are computed.
  void compute(bool fp64, bool fma, std::int64_t width, std::int64_t begin, std::int64_t end,
               std::uint32_t max_iter, cudaStream_t stream);

  /// Copies the first `count` device counts (those of the last tile) to host memory `out`
  /// (synchronous).
  void copy_counts(std::uint32_t* out, std::size_t count);

 private:
  struct Vectors;
  int device_;
  std::unique_ptr<Vectors> vectors_;
};

}  // namespace hetero::nodes::thrust_device

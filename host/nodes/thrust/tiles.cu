// The thrust node's device side: device_vectors and one thrust::transform per tile.
#include "nodes/thrust/tiles.hpp"

#include <exception>
#include <new>
#include <string>

#include <thrust/copy.h>
#include <thrust/device_malloc_allocator.h>
#include <thrust/device_vector.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system_error.h>

#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"
#include "thrust/tile.cuh"

namespace hetero::nodes::thrust_device {
namespace {

using kernels::Arith;

// Runs `body`, turning Thrust's exceptions into one-line hetero errors.
template <class Body>
void guarded(int device, const char* call, std::size_t bytes, Body&& body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
    throw OutOfMemory("thrust: " + std::string(call) + " of " + std::to_string(bytes) +
                          " bytes failed on CUDA device " + std::to_string(device) +
                          ": out of memory; use smaller tiles (--tile) or a lower memory cap "
                          "(--device-memory)",
                      bytes);
  } catch (const ::thrust::system_error& e) {
    throw Error("thrust: " + std::string(call) + " failed on CUDA device " +
                std::to_string(device) + ": " + e.what());
  }
}

// Device memory for the vectors from a hetero MemorySpace (cudaMalloc with its bytes counted),
// returned whatever the device's state: Thrust's own allocator throws from vector destructors
// when a device was lost, which ends the process instead of letting the run report it.
template <class T>
class SpaceAllocator : public ::thrust::device_malloc_allocator<T> {
 public:
  using base = ::thrust::device_malloc_allocator<T>;
  using typename base::pointer;
  using typename base::size_type;
  template <class U>
  struct rebind {
    using other = SpaceAllocator<U>;
  };

  explicit SpaceAllocator(MemorySpace& space) : space_(&space) {}
  template <class U>
  SpaceAllocator(const SpaceAllocator<U>& other) : space_(other.space()) {}

  /// Throws hetero::Error naming the bytes when the space cannot provide them.
  pointer allocate(size_type count) {
    return pointer(static_cast<T*>(space_->allocate(count * sizeof(T))));
  }
  void deallocate(pointer memory, size_type count) noexcept {
    space_->deallocate(::thrust::raw_pointer_cast(memory), count * sizeof(T));
  }
  MemorySpace* space() const { return space_; }
  bool operator==(const SpaceAllocator& other) const { return space_ == other.space_; }
  bool operator!=(const SpaceAllocator& other) const { return space_ != other.space_; }

 private:
  MemorySpace* space_;
};

template <class T>
using DeviceVector = ::thrust::device_vector<T, SpaceAllocator<T>>;

template <class Real>
void assign(DeviceVector<Real>& vector, const Real* values, std::size_t count) {
  vector.assign(values, values + count);
}

}  // namespace

struct Tiles::Vectors {
  explicit Vectors(MemorySpace& space)
      : xs64(SpaceAllocator<double>(space)),
        ys64(SpaceAllocator<double>(space)),
        xs32(SpaceAllocator<float>(space)),
        ys32(SpaceAllocator<float>(space)),
        counts(SpaceAllocator<std::uint32_t>(space)) {}

  DeviceVector<double> xs64, ys64;
  DeviceVector<float> xs32, ys32;
  DeviceVector<std::uint32_t> counts;  // grown to the largest tile seen
};

Tiles::Tiles(MemorySpace& space, int device)
    : device_(device), vectors_(std::make_unique<Vectors>(space)) {}

Tiles::~Tiles() = default;

void Tiles::upload(Axis axis, const double* values, std::size_t count) {
  guarded(device_, "axis upload", count * sizeof(double),
          [&] { assign(axis == Axis::x ? vectors_->xs64 : vectors_->ys64, values, count); });
}

void Tiles::upload(Axis axis, const float* values, std::size_t count) {
  guarded(device_, "axis upload", count * sizeof(float),
          [&] { assign(axis == Axis::x ? vectors_->xs32 : vectors_->ys32, values, count); });
}

void Tiles::reserve(std::size_t pixels) {
  Vectors& v = *vectors_;
  if (v.counts.size() >= pixels) return;
  guarded(device_, "device_vector allocation", pixels * sizeof(std::uint32_t), [&] {
    v.counts.clear();
    v.counts.shrink_to_fit();
    v.counts.resize(pixels);
  });
}

std::size_t Tiles::capacity_bytes() const {
  return vectors_->counts.size() * sizeof(std::uint32_t);
}

void Tiles::compute(bool fp64, bool fma, std::int64_t width, std::int64_t begin, std::int64_t end,
                    std::uint32_t max_iter, cudaStream_t stream) {
  Vectors& v = *vectors_;
  guarded(device_, "thrust::transform", 0, [&] {
    // thrust::cuda::par waits for the stream before returning.
    const auto policy = ::thrust::cuda::par.on(stream);
    std::uint32_t* out = ::thrust::raw_pointer_cast(v.counts.data());
    if (fp64) {
      const double* xs = ::thrust::raw_pointer_cast(v.xs64.data());
      const double* ys = ::thrust::raw_pointer_cast(v.ys64.data());
      if (fma) {
        kernels::thrust::tile<double, Arith::fma>(policy, xs, ys, width, begin, end, max_iter, out);
      } else {
        kernels::thrust::tile<double, Arith::exact>(policy, xs, ys, width, begin, end, max_iter,
                                                    out);
      }
    } else {
      const float* xs = ::thrust::raw_pointer_cast(v.xs32.data());
      const float* ys = ::thrust::raw_pointer_cast(v.ys32.data());
      if (fma) {
        kernels::thrust::tile<float, Arith::fma>(policy, xs, ys, width, begin, end, max_iter, out);
      } else {
        kernels::thrust::tile<float, Arith::exact>(policy, xs, ys, width, begin, end, max_iter,
                                                   out);
      }
    }
  });
}

void Tiles::copy_counts(std::uint32_t* out, std::size_t count) {
  guarded(device_, "thrust::copy (device to host)", count * sizeof(std::uint32_t), [&] {
    const auto first = vectors_->counts.begin();
    ::thrust::copy(first, first + static_cast<std::ptrdiff_t>(count), out);
  });
}

}  // namespace hetero::nodes::thrust_device

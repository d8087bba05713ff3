// Buffers: typed allocations in one memory space, moved between spaces only by traced copies.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "hetero/trace.hpp"

namespace hetero {

/// Where a buffer lives. A device space moves bytes over its link; the host space is plain
/// memory. A space may be capped: allocations that would hold more than limit() bytes at once
/// throw OutOfMemory, as do allocations the memory itself refuses.
class MemorySpace {
 public:
  static constexpr std::uint64_t kUnlimited = ~std::uint64_t{0};

  virtual ~MemorySpace() = default;
  virtual std::string_view name() const = 0;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* pointer, std::size_t bytes) noexcept = 0;
  /// Synchronous copies across the space's link.
  virtual void copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) = 0;

  std::uint64_t bytes_in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::uint64_t peak_bytes() const { return peak_.load(std::memory_order_relaxed); }
  /// The most bytes the space holds at once; kUnlimited unless set.
  std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  void set_limit(std::uint64_t bytes) { limit_.store(bytes, std::memory_order_relaxed); }

 protected:
  /// Counts `bytes` as allocated. Throws OutOfMemory, naming the space, the bytes and the cap,
  /// when that would pass limit(). Implementations claim before they allocate and release the
  /// claim when the allocation then fails.
  void claim(std::size_t bytes);
  void release(std::size_t bytes) { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> in_use_{0}, peak_{0}, limit_{kUnlimited};
};

/// Ordinary host memory; copies are memcpy.
class HostSpace final : public MemorySpace {
 public:
  static HostSpace& instance();
  std::string_view name() const override { return "host"; }
  void* allocate(std::size_t bytes) override;
  void deallocate(void* pointer, std::size_t bytes) noexcept override;
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override;
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override;
};

/// A typed allocation of `size` elements in one memory space (move-only, freed on destruction).
template <class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(MemorySpace& space, std::size_t size)
      : space_(&space), data_(static_cast<T*>(space.allocate(size * sizeof(T)))), size_(size) {}
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer(std::move(other)).swap(*this);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (data_ != nullptr) space_->deallocate(data_, size_ * sizeof(T));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }
  MemorySpace& space() const { return *space_; }

  void swap(Buffer& other) noexcept {
    std::swap(space_, other.space_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

 private:
  MemorySpace* space_ = nullptr;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Copies host data into `dst` at element `offset`, recorded on `lane` as a copy to the device.
template <class T>
void copy(Buffer<T>& dst, std::size_t offset, std::span<const T> src, TraceLane& lane,
          std::string label, std::int64_t tile = -1,
          TransferCause cause = TransferCause::read_miss) {
  const std::int64_t begin = lane.now_ns();
  dst.space().copy_from_host(dst.data() + offset, src.data(), src.size_bytes());
  lane.copy(EventKind::copy_to_device, cause, std::move(label), src.size_bytes(), begin,
            lane.now_ns(), tile);
}

/// Copies `dst.size()` elements of `src` from element `offset` to the host, recorded on `lane`.
template <class T>
void copy(std::span<T> dst, const Buffer<T>& src, std::size_t offset, TraceLane& lane,
          std::string label, std::int64_t tile = -1) {
  const std::int64_t begin = lane.now_ns();
  src.space().copy_to_host(dst.data(), src.data() + offset, dst.size_bytes());
  lane.copy(EventKind::copy_to_host, std::move(label), dst.size_bytes(), begin, lane.now_ns(),
            tile);
}

}  // namespace hetero

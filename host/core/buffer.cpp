// The host memory space.
#include <cstdlib>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "hetero/buffer.hpp"
#include "hetero/error.hpp"

namespace hetero {

void MemorySpace::note_allocated(std::size_t bytes) {
  const std::uint64_t now = in_use_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::uint64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

HostSpace& HostSpace::instance() {
  static HostSpace space;
  return space;
}

void* HostSpace::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* pointer = std::malloc(bytes);
  if (pointer == nullptr) {
    throw Error(
        fmt::format("host memory: could not allocate {} bytes; use a smaller image", bytes));
  }
  note_allocated(bytes);
  return pointer;
}

void HostSpace::deallocate(void* pointer, std::size_t bytes) noexcept {
  if (pointer == nullptr) return;
  std::free(pointer);
  note_freed(bytes);
}

void HostSpace::copy_from_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes != 0) std::memcpy(dst, src, bytes);
}

void HostSpace::copy_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes != 0) std::memcpy(dst, src, bytes);
}

}  // namespace hetero

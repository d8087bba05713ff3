// The host memory space.
#include <cstdlib>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"

namespace hetero {

void MemorySpace::claim(std::size_t bytes) {
  const std::uint64_t cap = limit();
  std::uint64_t in_use = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > cap || in_use > cap - bytes) {
      throw OutOfMemory(
          fmt::format("{}: cannot allocate {} bytes: {} of its {}-byte memory cap are in use; "
                      "raise the cap (--device-memory) or use smaller tiles (--tile)",
                      name(), bytes, in_use, cap),
          bytes);
    }
  } while (!in_use_.compare_exchange_weak(in_use, in_use + bytes, std::memory_order_relaxed));
  const std::uint64_t now = in_use + bytes;
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
  claim(bytes);
  void* pointer = std::malloc(bytes);
  if (pointer == nullptr) {
    release(bytes);
    throw OutOfMemory(
        fmt::format("host memory: could not allocate {} bytes; use a smaller image", bytes), bytes);
  }
  return pointer;
}

void HostSpace::deallocate(void* pointer, std::size_t bytes) noexcept {
  if (pointer == nullptr) return;
  std::free(pointer);
  release(bytes);
}

void HostSpace::copy_from_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes != 0) std::memcpy(dst, src, bytes);
}

void HostSpace::copy_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes != 0) std::memcpy(dst, src, bytes);
}

}  // namespace hetero

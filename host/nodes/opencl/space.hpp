// OpenCLSpace: the memory of one OpenCL device as a hetero MemorySpace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "hetero/backend/memory.hpp"
#include "runtime.hpp"

namespace hetero::nodes::opencl {

/// Device buffers (cl_mem) behind addresses a Buffer<T> can offset. The addresses are opaque:
/// the host never dereferences them; resolve() turns one back into its cl_mem and byte offset.
/// Allocation is tracked (bytes_in_use, peak_bytes) and capped (limit). A buffer larger than
/// the device's largest allocation, or one the driver refuses for lack of memory, throws
/// OutOfMemory. The synchronous copies run on `copy_queue`.
class OpenCLSpace final : public MemorySpace {
 public:
  OpenCLSpace(cl_context context, cl_command_queue copy_queue, std::string name,
              std::uint64_t max_allocation_bytes);
  ~OpenCLSpace() override;
  OpenCLSpace(const OpenCLSpace&) = delete;
  OpenCLSpace& operator=(const OpenCLSpace&) = delete;

  std::string_view name() const override { return name_; }
  void* allocate(std::size_t bytes) override;
  void deallocate(void* pointer, std::size_t bytes) noexcept override;
  void copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) override;
  void copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) override;

  /// Where `bytes` bytes at `address` live; throws Error when they are not inside one buffer.
  struct Region {
    cl_mem memory = nullptr;
    std::size_t offset = 0;
  };
  Region resolve(const void* address, std::size_t bytes) const;

 private:
  struct Allocation {
    cl_mem memory = nullptr;
    std::size_t bytes = 0;
  };
  cl_context context_;
  cl_command_queue copy_queue_;
  std::string name_;
  std::uint64_t max_allocation_bytes_;  // 0: not reported
  mutable std::mutex mutex_;
  std::map<std::uintptr_t, Allocation> allocations_;  // by start address
  std::uintptr_t next_address_;
};

}  // namespace hetero::nodes::opencl

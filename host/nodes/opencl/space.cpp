// OpenCLSpace: device buffers behind opaque addresses, with tracked allocation.
#include "space.hpp"

#include <utility>

#include <fmt/format.h>

#include "hetero/error.hpp"

namespace hetero::nodes::opencl {
namespace {

// Opaque addresses start high and every buffer is followed by an unused page, so an address one
// past the end of a buffer never resolves into the next one.
constexpr std::uintptr_t kFirstAddress = std::uintptr_t{1} << 44;
constexpr std::uintptr_t kPage = 4096;

std::uintptr_t round_up(std::uintptr_t value, std::uintptr_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace

OpenCLSpace::OpenCLSpace(cl_context context, cl_command_queue copy_queue, std::string name,
                         std::uint64_t max_allocation_bytes)
    : context_(context),
      copy_queue_(copy_queue),
      name_(std::move(name)),
      max_allocation_bytes_(max_allocation_bytes),
      next_address_(kFirstAddress) {}

OpenCLSpace::~OpenCLSpace() {
  for (auto& [address, allocation] : allocations_) clReleaseMemObject(allocation.memory);
}

void* OpenCLSpace::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (max_allocation_bytes_ != 0 && bytes > max_allocation_bytes_) {
    throw OutOfMemory(fmt::format("{}: cannot allocate {} bytes: its largest buffer is {} bytes; "
                                  "use smaller tiles (--tile)",
                                  name_, bytes, max_allocation_bytes_),
                      bytes);
  }
  claim(bytes);
  cl_int status = CL_SUCCESS;
  cl_mem memory = clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &status);
  if (status != CL_SUCCESS) {
    release(bytes);
    const std::string message = fmt::format(
        "{}: could not allocate {} bytes ({}); use smaller tiles (--tile) or a lower "
        "memory cap (--device-memory)",
        name_, bytes, status_name(status));
    switch (status) {
      case CL_MEM_OBJECT_ALLOCATION_FAILURE:
      case CL_OUT_OF_RESOURCES:
      case CL_OUT_OF_HOST_MEMORY:
      case CL_INVALID_BUFFER_SIZE:
        throw OutOfMemory(message, bytes);
      default:
        throw Error(message);
    }
  }
  std::uintptr_t address = 0;
  {
    const std::lock_guard lock(mutex_);
    address = next_address_;
    next_address_ += round_up(bytes, kPage) + kPage;
    allocations_.emplace(address, Allocation{memory, bytes});
  }
  // The address is a handle, never dereferenced; it only has to survive pointer offsets.
  return reinterpret_cast<void*>(address);  // NOLINT(performance-no-int-to-ptr)
}

void OpenCLSpace::deallocate(void* pointer, std::size_t bytes) noexcept {
  if (pointer == nullptr) return;
  cl_mem memory = nullptr;
  {
    const std::lock_guard lock(mutex_);
    const auto it = allocations_.find(reinterpret_cast<std::uintptr_t>(pointer));
    if (it == allocations_.end()) return;
    memory = it->second.memory;
    allocations_.erase(it);
  }
  // The release is deferred by OpenCL until commands that use the buffer have finished.
  clReleaseMemObject(memory);
  release(bytes);
}

OpenCLSpace::Region OpenCLSpace::resolve(const void* address, std::size_t bytes) const {
  const auto value = reinterpret_cast<std::uintptr_t>(address);
  const std::lock_guard lock(mutex_);
  auto it = allocations_.upper_bound(value);
  if (it != allocations_.begin()) {
    --it;
    const std::size_t offset = value - it->first;
    if (offset <= it->second.bytes && bytes <= it->second.bytes - offset) {
      return Region{it->second.memory, offset};
    }
  }
  throw Error(
      fmt::format("{}: {} bytes at {} are not inside one device buffer", name_, bytes, address));
}

void OpenCLSpace::copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) {
  if (bytes == 0) return;
  const Region region = resolve(device_dst, bytes);
  check(clEnqueueWriteBuffer(copy_queue_, region.memory, CL_TRUE, region.offset, bytes, host_src, 0,
                             nullptr, nullptr),
        fmt::format("write of {} bytes to {}", bytes, name_));
}

void OpenCLSpace::copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) {
  if (bytes == 0) return;
  const Region region = resolve(device_src, bytes);
  check(clEnqueueReadBuffer(copy_queue_, region.memory, CL_TRUE, region.offset, bytes, host_dst, 0,
                            nullptr, nullptr),
        fmt::format("read of {} bytes from {}", bytes, name_));
}

}  // namespace hetero::nodes::opencl

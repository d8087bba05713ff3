// CUDA runtime helpers: errors, memory spaces, streams, events and the device clock.
#include "nodes/cuda/runtime.hpp"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "hetero/error.hpp"

namespace hetero::nodes::cuda {
namespace {

// What a person can do about `status`, when there is something.
std::string_view remedy(cudaError_t status) {
  switch (status) {
    case cudaErrorMemoryAllocation:
      return "; use smaller tiles (--tile) or a smaller image";
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
      return "; build hetero for this GPU (-DCMAKE_CUDA_ARCHITECTURES=native)";
    default:
      return "";
  }
}

[[noreturn]] void fail(cudaError_t status, std::string_view node, int device, std::string_view call,
                       std::string_view what) {
  throw Error(fmt::format("{}: {}{} failed on CUDA device {}: {} ({}){}", node, call, what, device,
                          cudaGetErrorString(status), cudaGetErrorName(status), remedy(status)));
}

// An allocation the device refused for lack of memory: not sticky, so the error is cleared and
// the caller may try a smaller one.
[[noreturn]] void throw_out_of_memory(std::string_view node, int device, std::string_view call,
                                      std::size_t bytes) {
  static_cast<void>(cudaGetLastError());
  throw OutOfMemory(fmt::format("{}: {} of {} bytes failed on CUDA device {}: out of memory; use "
                                "smaller tiles (--tile) or a lower memory cap (--device-memory)",
                                node, call, bytes, device),
                    bytes);
}

}  // namespace

void check(cudaError_t status, std::string_view node, int device, std::string_view call) {
  if (status != cudaSuccess) fail(status, node, device, call, "");
}

void check(cudaError_t status, std::string_view node, int device, std::string_view call,
           std::uint64_t bytes) {
  if (status != cudaSuccess) fail(status, node, device, call, fmt::format(" of {} bytes", bytes));
}

void use_device(std::string_view node, int device) {
  check(cudaSetDevice(device), node, device, "cudaSetDevice");
}

DeviceGuard::DeviceGuard(std::string_view node, int device) {
  int current = 0;
  check(cudaGetDevice(&current), node, device, "cudaGetDevice");
  if (current == device) return;
  use_device(node, device);
  previous_ = current;
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) static_cast<void>(cudaSetDevice(previous_));  // valid a moment ago
}

std::uint64_t free_memory(std::string_view node, int device) {
  std::size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), node, device, "cudaMemGetInfo");
  return free;
}

DeviceSpace::DeviceSpace(std::string node, int device)
    : node_(std::move(node)), name_(fmt::format("cuda:{}", device)), device_(device) {}

void* KeptBlocks::reuse(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  const auto it = kept_.lower_bound(bytes);
  if (it == kept_.end() || it->first / 2 > bytes) return nullptr;
  void* pointer = it->second;
  size_of_[pointer] = it->first;
  kept_.erase(it);
  return pointer;
}

void KeptBlocks::allocated(void* pointer, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  size_of_[pointer] = bytes;
}

void KeptBlocks::keep(void* pointer, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  const auto it = size_of_.find(pointer);
  if (it != size_of_.end()) {
    bytes = it->second;
    size_of_.erase(it);
  }
  kept_.emplace(bytes, pointer);
}

void KeptBlocks::release_all(void (*free)(void*)) noexcept {
  std::lock_guard lock(mutex_);
  for (const auto& [bytes, pointer] : kept_) free(pointer);
  kept_.clear();
}

namespace {

// A failure to free (a device lost) leaves nothing to recover; the run reports it.
void free_device(void* pointer) {
  static_cast<void>(cudaFree(pointer));
}
void free_pinned(void* pointer) {
  static_cast<void>(cudaFreeHost(pointer));
}

}  // namespace

DeviceSpace::~DeviceSpace() {
  kept_.release_all(&free_device);
}

void* DeviceSpace::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  claim(bytes);
  if (void* pointer = kept_.reuse(bytes)) return pointer;
  void* pointer = nullptr;
  cudaError_t status = cudaMalloc(&pointer, bytes);
  if (status == cudaErrorMemoryAllocation) {
    static_cast<void>(cudaGetLastError());
    kept_.release_all(&free_device);
    status = cudaMalloc(&pointer, bytes);
  }
  if (status != cudaSuccess) release(bytes);
  if (status == cudaErrorMemoryAllocation) throw_out_of_memory(node_, device_, "cudaMalloc", bytes);
  check(status, node_, device_, "cudaMalloc", bytes);
  kept_.allocated(pointer, bytes);
  return pointer;
}

void DeviceSpace::deallocate(void* pointer, std::size_t bytes) noexcept {
  if (pointer == nullptr) return;
  kept_.keep(pointer, bytes);
  release(bytes);
}

void DeviceSpace::copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) {
  if (bytes == 0) return;
  check(cudaMemcpy(device_dst, host_src, bytes, cudaMemcpyHostToDevice), node_, device_,
        "cudaMemcpy (host to device)", bytes);
  // From pageable memory cudaMemcpy may return before the DMA lands; kernels on non-blocking
  // streams are not ordered after it, so wait for the legacy stream.
  check(cudaStreamSynchronize(cudaStreamLegacy), node_, device_, "cudaStreamSynchronize");
}

void DeviceSpace::copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) {
  if (bytes == 0) return;
  check(cudaMemcpy(host_dst, device_src, bytes, cudaMemcpyDeviceToHost), node_, device_,
        "cudaMemcpy (device to host)", bytes);
}

PinnedHostSpace::PinnedHostSpace(std::string node, int device)
    : node_(std::move(node)), name_(fmt::format("cuda:{} pinned host", device)), device_(device) {}

PinnedHostSpace::~PinnedHostSpace() {
  kept_.release_all(&free_pinned);
}

void* PinnedHostSpace::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  claim(bytes);
  if (void* pointer = kept_.reuse(bytes)) return pointer;
  void* pointer = nullptr;
  const cudaError_t status = cudaMallocHost(&pointer, bytes);
  if (status != cudaSuccess) release(bytes);
  if (status == cudaErrorMemoryAllocation) {
    throw_out_of_memory(node_, device_, "cudaMallocHost", bytes);
  }
  check(status, node_, device_, "cudaMallocHost", bytes);
  kept_.allocated(pointer, bytes);
  return pointer;
}

void PinnedHostSpace::deallocate(void* pointer, std::size_t bytes) noexcept {
  if (pointer == nullptr) return;
  kept_.keep(pointer, bytes);
  release(bytes);
}

void PinnedHostSpace::copy_from_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes != 0) std::memcpy(dst, src, bytes);
}

void PinnedHostSpace::copy_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes != 0) std::memcpy(dst, src, bytes);
}

Stream::Stream(std::string_view node, int device) {
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), node, device,
        "cudaStreamCreateWithFlags");
}

Stream::~Stream() {
  static_cast<void>(cudaStreamDestroy(stream_));
}

void Stream::synchronize(std::string_view node, int device) const {
  check(cudaStreamSynchronize(stream_), node, device, "cudaStreamSynchronize");
}

Event::Event(std::string_view node, int device, bool blocking) {
  check(cudaEventCreateWithFlags(&event_, blocking ? cudaEventBlockingSync : cudaEventDefault),
        node, device, "cudaEventCreateWithFlags");
}

Event::~Event() {
  static_cast<void>(cudaEventDestroy(event_));
}

void Event::record(cudaStream_t stream, std::string_view node, int device) const {
  check(cudaEventRecord(event_, stream), node, device, "cudaEventRecord");
}

void Event::synchronize(std::string_view node, int device) const {
  check(cudaEventSynchronize(event_), node, device, "cudaEventSynchronize");
}

DeviceClock::DeviceClock(std::string_view node, int device, cudaStream_t idle_stream,
                         const TraceLane& lane)
    : node_(node), device_(device), anchor_(node, device, /*blocking=*/false) {
  const std::int64_t before = lane.now_ns();
  anchor_.record(idle_stream, node_, device_);
  anchor_.synchronize(node_, device_);
  const std::int64_t after = lane.now_ns();
  anchor_ns_ = before + (after - before) / 2;
}

std::int64_t DeviceClock::host_ns(cudaEvent_t event) const {
  float milliseconds = 0;
  check(cudaEventElapsedTime(&milliseconds, anchor_.get(), event), node_, device_,
        "cudaEventElapsedTime");
  return anchor_ns_ + std::llround(static_cast<double>(milliseconds) * 1e6);
}

}  // namespace hetero::nodes::cuda

// CUDA runtime helpers shared by the cuda and thrust nodes: errors as hetero::Error, the
// device and pinned-host memory spaces, streams, events, and the device clock mapped to the
// trace clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <cuda_runtime_api.h>

#include "hetero/backend/memory.hpp"
#include "hetero/trace.hpp"

namespace hetero::nodes::cuda {

/// Throws Error "<node>: <call> failed on CUDA device <device>: <message> (<error name>)"
/// when `status` is not cudaSuccess.
void check(cudaError_t status, std::string_view node, int device, std::string_view call);
/// The same for a call that asked for `bytes` (allocations, copies): the bytes are named.
void check(cudaError_t status, std::string_view node, int device, std::string_view call,
           std::uint64_t bytes);

/// Makes `device` the calling thread's current device (each proxy thread must).
void use_device(std::string_view node, int device);

/// Makes `device` current for the guard's life and then gives the calling thread back the
/// device it had: for calls on threads that are not the node's own (a write-back asked by
/// another node), whose later CUDA calls must not land on this device.
class DeviceGuard {
 public:
  DeviceGuard(std::string_view node, int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;  // the device to give back; -1: it was this one already
};

/// Free global memory of the current device now (cudaMemGetInfo).
std::uint64_t free_memory(std::string_view node, int device);

/// Blocks a memory space freed, kept for later allocations of about their size (at least the
/// size asked, at most twice it): freeing and allocating CUDA memory waits for the device or
/// pins pages anew. Thread-safe.
class KeptBlocks {
 public:
  /// A kept block for `bytes`; nullptr when there is none.
  void* reuse(std::size_t bytes);
  /// Notes that `pointer` was allocated with `bytes` (its real size).
  void allocated(void* pointer, std::size_t bytes);
  /// Keeps `pointer` (freed by its owner; `bytes` when it was never noted).
  void keep(void* pointer, std::size_t bytes);
  /// Hands every kept block to `free` and forgets it.
  void release_all(void (*free)(void*)) noexcept;

 private:
  std::mutex mutex_;
  std::multimap<std::size_t, void*> kept_;          // by size
  std::unordered_map<void*, std::size_t> size_of_;  // blocks in use
};

/// Global memory of one device (cudaMalloc); copies are synchronous cudaMemcpy calls that
/// return once the bytes are in place. Freed blocks are kept (KeptBlocks): cudaFree waits for
/// the whole device, so a buffer that goes and comes back between or within runs must not stall
/// the other streams. They are given back when the device runs out of memory, and when the
/// space goes.
class DeviceSpace final : public MemorySpace {
 public:
  DeviceSpace(std::string node, int device);
  /// Frees the blocks kept; the device must be current.
  ~DeviceSpace() override;
  DeviceSpace(const DeviceSpace&) = delete;
  DeviceSpace& operator=(const DeviceSpace&) = delete;
  std::string_view name() const override { return name_; }
  void* allocate(std::size_t bytes) override;
  void deallocate(void* pointer, std::size_t bytes) noexcept override;
  void copy_from_host(void* device_dst, const void* host_src, std::size_t bytes) override;
  void copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) override;

 private:
  std::string node_, name_;
  int device_;
  KeptBlocks kept_;
};

/// Page-locked host memory (cudaMallocHost): the staging area the device copies into at full
/// link speed and without a hidden bounce buffer. It is host memory: copies are memcpy. Freed
/// blocks are kept (KeptBlocks), since pinning pages takes long, until the space goes.
class PinnedHostSpace final : public MemorySpace {
 public:
  PinnedHostSpace(std::string node, int device);
  ~PinnedHostSpace() override;
  PinnedHostSpace(const PinnedHostSpace&) = delete;
  PinnedHostSpace& operator=(const PinnedHostSpace&) = delete;
  std::string_view name() const override { return name_; }
  void* allocate(std::size_t bytes) override;
  void deallocate(void* pointer, std::size_t bytes) noexcept override;
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override;
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override;

 private:
  std::string node_, name_;
  int device_;
  KeptBlocks kept_;
};

/// A non-blocking stream of the current device (no implicit order with the legacy stream).
class Stream {
 public:
  Stream(std::string_view node, int device);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  /// Waits for everything enqueued so far.
  void synchronize(std::string_view node, int device) const;

 private:
  cudaStream_t stream_ = nullptr;
};

/// A timing event of the current device. With `blocking`, a thread waiting for it sleeps
/// instead of spinning, so a proxy thread takes no core from host nodes while a kernel runs.
class Event {
 public:
  Event(std::string_view node, int device, bool blocking);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream, std::string_view node, int device) const;
  void synchronize(std::string_view node, int device) const;

 private:
  cudaEvent_t event_ = nullptr;
};

/// Maps device event times to the run's host trace clock. An anchor event is recorded on an
/// idle stream and waited for; its device time is taken as the host time midway between the
/// record call and the end of the wait (exact to a few microseconds). Later events are the
/// anchor's host time plus cudaEventElapsedTime from the anchor (0.5 us resolution).
class DeviceClock {
 public:
  DeviceClock(std::string_view node, int device, cudaStream_t idle_stream, const TraceLane& lane);
  /// Trace time in ns of a completed `event` recorded after the anchor.
  std::int64_t host_ns(cudaEvent_t event) const;
  std::int64_t anchor_ns() const { return anchor_ns_; }

 private:
  std::string node_;
  int device_;
  Event anchor_;
  std::int64_t anchor_ns_ = 0;
};

}  // namespace hetero::nodes::cuda

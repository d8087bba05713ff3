// The OpenCL C API as the opencl node uses it: owning handles, status checks, devices with their
// OpenCL ids, contexts, queues and program builds. Only the opencl node's sources include this.
#pragma once

#include <CL/cl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "device.hpp"

namespace hetero::nodes::opencl {

/// The name of an OpenCL status code, e.g. "CL_OUT_OF_RESOURCES".
std::string_view status_name(cl_int status);

/// Throws Error("OpenCL <what> failed: <STATUS> (<code>)") unless status is CL_SUCCESS.
void check(cl_int status, std::string_view what);

/// Owns one OpenCL object and releases it once (move-only).
template <class T, cl_int(CL_API_CALL* Release)(T)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T object) : object_(object) {}
  Handle(Handle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    reset(std::exchange(other.object_, nullptr));
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  T get() const { return object_; }
  /// Releases the object held and returns where an API call may store a new one.
  T* out() {
    reset();
    return &object_;
  }
  void reset(T object = nullptr) {
    if (object_ != nullptr) Release(object_);
    object_ = object;
  }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  T object_ = nullptr;
};

using Context = Handle<cl_context, clReleaseContext>;
using Queue = Handle<cl_command_queue, clReleaseCommandQueue>;
using Program = Handle<cl_program, clReleaseProgram>;
using Kernel = Handle<cl_kernel, clReleaseKernel>;
using Memory = Handle<cl_mem, clReleaseMemObject>;
using Event = Handle<cl_event, clReleaseEvent>;

/// A device with the ids the OpenCL API takes.
struct Device {
  DeviceSummary summary;
  cl_platform_id platform = nullptr;
  cl_device_id id = nullptr;
};

/// Every device the ICD loader finds (see list_devices()); `problem` says why there is none.
std::vector<Device> discover_devices(std::string* problem);
/// The device of `devices` that `summary` describes; throws Error when it has gone.
const Device& find_device(const std::vector<Device>& devices, const DeviceSummary& summary);

Context create_context(const Device& device);
/// An in-order queue with CL_QUEUE_PROFILING_ENABLE, so events carry device timestamps.
Queue create_profiling_queue(cl_context context, const Device& device);
/// Builds `source`; throws Error with the first lines of the build log when it fails.
Program build_program(cl_context context, const Device& device, std::string_view source,
                      std::string_view options);

/// Device timestamps (ns) of a finished command: CL_PROFILING_COMMAND_START and _END.
std::pair<std::int64_t, std::int64_t> profiled_interval(cl_event event);
/// Waits for `event` and throws Error when its command failed.
void wait_for(cl_event event, std::string_view what);

}  // namespace hetero::nodes::opencl

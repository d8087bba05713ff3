// OpenCL devices as the opencl node sees them, without the OpenCL headers: discovery, the
// --device selector, and building a program from source (for the node and its tests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hetero::nodes::opencl {

/// One device of one platform, as the ICD loader reports it.
struct DeviceSummary {
  int platform_index = 0;  ///< position of the platform in clGetPlatformIDs order
  int device_index = 0;    ///< position of the device within its platform
  std::string name;        ///< CL_DEVICE_NAME
  std::string platform;    ///< CL_PLATFORM_NAME
  std::string version;     ///< CL_DEVICE_VERSION, e.g. "OpenCL 3.0 PoCL ..."
  std::string driver;      ///< CL_DRIVER_VERSION
  bool cpu = false;        ///< CL_DEVICE_TYPE_CPU: the device runs on the host's cores
  bool fp64 = false;       ///< double precision (cl_khr_fp64) is supported
  int compute_units = 1;
  std::uint64_t global_memory_bytes = 0;
  std::uint64_t max_allocation_bytes = 0;
  /// Free global memory where the driver reports it (cl_amd_device_attribute_query); OpenCL has
  /// no portable query, so elsewhere the whole global memory.
  std::uint64_t free_memory_bytes = 0;
  std::string resource;  ///< host-cpu for CPU devices, pci:DDDD:BB:DD.F when known, else opencl:P:D

  /// "P:D", the selector that names this device exactly.
  std::string index() const;
  /// What identifies the device across runs (its link cache key): platform, name and driver.
  std::string identity() const;
  /// One line for people: name, index, platform and driver.
  std::string describe() const;
};

/// Every device the ICD loader finds, platforms in order, then devices in order. When there is
/// none, `problem` says why (no platform, or platforms without devices).
struct DeviceList {
  std::vector<DeviceSummary> devices;
  std::string problem;
};
DeviceList list_devices();

/// The device `selector` names in `list`: "P:D" (platform and device index), or a
/// case-insensitive part of a device name (the first match). An empty selector takes the first
/// GPU or accelerator, or else the first device. Throws UsageError naming every device when
/// nothing matches, or saying why there is no device at all.
const DeviceSummary& select_device(const DeviceList& list, std::string_view selector);

/// Builds OpenCL C `source` with `options` for `device` in a context of its own, and releases it.
/// Throws Error whose message holds the first lines of the build log when the build fails.
void build_source(const DeviceSummary& device, std::string_view source, std::string_view options);

}  // namespace hetero::nodes::opencl

// OpenCL discovery, device selection, contexts, queues and program builds for the opencl node.
#include "runtime.hpp"

#include <CL/cl_ext.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "hetero/error.hpp"

namespace hetero::nodes::opencl {
namespace {

// Lines of a failed build's log that go into the error message.
constexpr int kBuildLogLines = 6;

// OpenCL strings come with a terminating NUL that their reported size counts.
void drop_from_nul(std::string& text) {
  text.resize(std::min(text.find('\0'), text.size()));
}

std::string platform_text(cl_platform_id platform, cl_platform_info param) {
  std::size_t size = 0;
  if (clGetPlatformInfo(platform, param, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string text(size, '\0');
  if (clGetPlatformInfo(platform, param, size, text.data(), nullptr) != CL_SUCCESS) return {};
  drop_from_nul(text);
  return text;
}

std::string device_text(cl_device_id device, cl_device_info param) {
  std::size_t size = 0;
  if (clGetDeviceInfo(device, param, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string text(size, '\0');
  if (clGetDeviceInfo(device, param, size, text.data(), nullptr) != CL_SUCCESS) return {};
  drop_from_nul(text);
  // Some drivers pad names with spaces.
  const auto first = text.find_first_not_of(' ');
  const auto last = text.find_last_not_of(' ');
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

template <class T>
T device_value(cl_device_id device, cl_device_info param, T fallback) {
  T value{};
  if (clGetDeviceInfo(device, param, sizeof(T), &value, nullptr) != CL_SUCCESS) return fallback;
  return value;
}

std::string resource_of(cl_device_id device, const DeviceSummary& summary) {
  if (summary.cpu) return "host-cpu";
  const std::string extensions = device_text(device, CL_DEVICE_EXTENSIONS);
  if (extensions.find("cl_khr_pci_bus_info") != std::string::npos) {
    cl_device_pci_bus_info_khr bus{};
    if (clGetDeviceInfo(device, CL_DEVICE_PCI_BUS_INFO_KHR, sizeof(bus), &bus, nullptr) ==
        CL_SUCCESS) {
      // The same form the cuda node uses, so both see one GPU as one resource.
      return fmt::format("gpu:pci:{:04x}:{:02x}:{:02x}.{:x}", bus.pci_domain, bus.pci_bus,
                         bus.pci_device, bus.pci_function);
    }
  }
  return "opencl:" + summary.index();
}

// Free global memory in bytes as the AMD attribute query reports it (in KiB), or 0.
std::uint64_t reported_free_memory(cl_device_id device) {
#ifndef CL_DEVICE_GLOBAL_FREE_MEMORY_AMD
  constexpr cl_device_info CL_DEVICE_GLOBAL_FREE_MEMORY_AMD = 0x4039;
#endif
  if (device_text(device, CL_DEVICE_EXTENSIONS).find("cl_amd_device_attribute_query") ==
      std::string::npos) {
    return 0;
  }
  // Total free and largest free block, in KiB.
  std::array<std::size_t, 2> kib{};
  if (clGetDeviceInfo(device, CL_DEVICE_GLOBAL_FREE_MEMORY_AMD, sizeof(kib), kib.data(), nullptr) !=
      CL_SUCCESS) {
    return 0;
  }
  return std::uint64_t{kib[0]} * 1024;
}

DeviceSummary summarise(cl_device_id device, int platform_index, int device_index,
                        const std::string& platform_name) {
  DeviceSummary summary;
  summary.platform_index = platform_index;
  summary.device_index = device_index;
  summary.platform = platform_name;
  summary.name = device_text(device, CL_DEVICE_NAME);
  summary.version = device_text(device, CL_DEVICE_VERSION);
  summary.driver = device_text(device, CL_DRIVER_VERSION);
  const auto type = device_value<cl_device_type>(device, CL_DEVICE_TYPE, 0);
  summary.cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
  const auto double_config =
      device_value<cl_device_fp_config>(device, CL_DEVICE_DOUBLE_FP_CONFIG, 0);
  summary.fp64 = double_config != 0 ||
                 device_text(device, CL_DEVICE_EXTENSIONS).find("cl_khr_fp64") != std::string::npos;
  summary.compute_units =
      static_cast<int>(device_value<cl_uint>(device, CL_DEVICE_MAX_COMPUTE_UNITS, 1));
  summary.global_memory_bytes = device_value<cl_ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE, 0);
  summary.max_allocation_bytes = device_value<cl_ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, 0);
  summary.free_memory_bytes = reported_free_memory(device);
  if (summary.free_memory_bytes == 0) summary.free_memory_bytes = summary.global_memory_bytes;
  summary.resource = resource_of(device, summary);
  return summary;
}

// `text` lowercase, its words (runs of letters and digits) each between single spaces:
// "Intel(R) Xeon" is " intel r xeon ".
std::string words_of(std::string_view text) {
  std::string words = " ";
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      words += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (words.back() != ' ') {
      words += ' ';
    }
  }
  if (words.back() != ' ') words += ' ';
  return words;
}

// Parses "P:D"; false when `text` is not two non-negative integers around a colon.
bool parse_index(std::string_view text, int& platform, int& device) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  const char* first = text.data();
  const char* middle = text.data() + colon;
  const char* last = text.data() + text.size();
  const auto p = std::from_chars(first, middle, platform);
  const auto d = std::from_chars(middle + 1, last, device);
  return p.ec == std::errc() && p.ptr == middle && d.ec == std::errc() && d.ptr == last &&
         platform >= 0 && device >= 0;
}

std::string first_lines(const std::string& text, int lines) {
  std::istringstream in(text);
  std::string line, out;
  int taken = 0;
  while (taken < lines && std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!out.empty()) out += " | ";
    out += line;
    ++taken;
  }
  return out.empty() ? "(empty build log)" : out;
}

}  // namespace

std::string_view status_name(cl_int status) {
  switch (status) {
#define HETERO_CL_STATUS(name) \
  case name:                   \
    return #name;
    HETERO_CL_STATUS(CL_SUCCESS)
    HETERO_CL_STATUS(CL_DEVICE_NOT_FOUND)
    HETERO_CL_STATUS(CL_DEVICE_NOT_AVAILABLE)
    HETERO_CL_STATUS(CL_COMPILER_NOT_AVAILABLE)
    HETERO_CL_STATUS(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    HETERO_CL_STATUS(CL_OUT_OF_RESOURCES)
    HETERO_CL_STATUS(CL_OUT_OF_HOST_MEMORY)
    HETERO_CL_STATUS(CL_PROFILING_INFO_NOT_AVAILABLE)
    HETERO_CL_STATUS(CL_MEM_COPY_OVERLAP)
    HETERO_CL_STATUS(CL_BUILD_PROGRAM_FAILURE)
    HETERO_CL_STATUS(CL_MAP_FAILURE)
    HETERO_CL_STATUS(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    HETERO_CL_STATUS(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    HETERO_CL_STATUS(CL_COMPILE_PROGRAM_FAILURE)
    HETERO_CL_STATUS(CL_LINK_PROGRAM_FAILURE)
    HETERO_CL_STATUS(CL_INVALID_VALUE)
    HETERO_CL_STATUS(CL_INVALID_DEVICE_TYPE)
    HETERO_CL_STATUS(CL_INVALID_PLATFORM)
    HETERO_CL_STATUS(CL_INVALID_DEVICE)
    HETERO_CL_STATUS(CL_INVALID_CONTEXT)
    HETERO_CL_STATUS(CL_INVALID_QUEUE_PROPERTIES)
    HETERO_CL_STATUS(CL_INVALID_COMMAND_QUEUE)
    HETERO_CL_STATUS(CL_INVALID_HOST_PTR)
    HETERO_CL_STATUS(CL_INVALID_MEM_OBJECT)
    HETERO_CL_STATUS(CL_INVALID_BUILD_OPTIONS)
    HETERO_CL_STATUS(CL_INVALID_PROGRAM)
    HETERO_CL_STATUS(CL_INVALID_PROGRAM_EXECUTABLE)
    HETERO_CL_STATUS(CL_INVALID_KERNEL_NAME)
    HETERO_CL_STATUS(CL_INVALID_KERNEL)
    HETERO_CL_STATUS(CL_INVALID_ARG_INDEX)
    HETERO_CL_STATUS(CL_INVALID_ARG_VALUE)
    HETERO_CL_STATUS(CL_INVALID_ARG_SIZE)
    HETERO_CL_STATUS(CL_INVALID_KERNEL_ARGS)
    HETERO_CL_STATUS(CL_INVALID_WORK_DIMENSION)
    HETERO_CL_STATUS(CL_INVALID_WORK_GROUP_SIZE)
    HETERO_CL_STATUS(CL_INVALID_WORK_ITEM_SIZE)
    HETERO_CL_STATUS(CL_INVALID_GLOBAL_OFFSET)
    HETERO_CL_STATUS(CL_INVALID_EVENT_WAIT_LIST)
    HETERO_CL_STATUS(CL_INVALID_EVENT)
    HETERO_CL_STATUS(CL_INVALID_OPERATION)
    HETERO_CL_STATUS(CL_INVALID_BUFFER_SIZE)
    HETERO_CL_STATUS(CL_INVALID_GLOBAL_WORK_SIZE)
#undef HETERO_CL_STATUS
    case -1001:
      return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
      return "unknown OpenCL status";
  }
}

void check(cl_int status, std::string_view what) {
  if (status == CL_SUCCESS) return;
  throw Error(fmt::format("OpenCL {} failed: {} ({})", what, status_name(status), status));
}

std::string DeviceSummary::index() const {
  return fmt::format("{}:{}", platform_index, device_index);
}

std::string DeviceSummary::identity() const {
  return fmt::format("{}|{}|{}", platform, name, driver);
}

std::string DeviceSummary::describe() const {
  return fmt::format("{} [{}] ({}, driver {}{})", name, index(), platform, driver,
                     fp64 ? "" : ", no fp64");
}

std::vector<Device> discover_devices(std::string* problem) {
  std::vector<Device> devices;
  cl_uint platform_count = 0;
  const cl_int status = clGetPlatformIDs(0, nullptr, &platform_count);
  if (status != CL_SUCCESS || platform_count == 0) {
    if (problem != nullptr) {
      *problem = fmt::format(
          "no OpenCL platform found ({}); install an OpenCL driver (ICD), e.g. pocl-opencl-icd",
          status == CL_SUCCESS ? "the ICD loader lists none" : status_name(status));
    }
    return devices;
  }
  std::vector<cl_platform_id> platforms(platform_count);
  check(clGetPlatformIDs(platform_count, platforms.data(), nullptr), "clGetPlatformIDs");
  std::vector<std::string> empty_platforms;
  for (cl_uint p = 0; p < platform_count; ++p) {
    const std::string platform_name = platform_text(platforms[p], CL_PLATFORM_NAME);
    cl_uint device_count = 0;
    if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, nullptr, &device_count) != CL_SUCCESS ||
        device_count == 0) {
      empty_platforms.push_back(platform_name);
      continue;
    }
    std::vector<cl_device_id> ids(device_count);
    check(clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, device_count, ids.data(), nullptr),
          "clGetDeviceIDs");
    for (cl_uint d = 0; d < device_count; ++d) {
      devices.push_back(
          Device{summarise(ids[d], static_cast<int>(p), static_cast<int>(d), platform_name),
                 platforms[p], ids[d]});
    }
  }
  if (devices.empty() && problem != nullptr) {
    *problem =
        fmt::format("OpenCL platform(s) {} have no device", fmt::join(empty_platforms, ", "));
  }
  return devices;
}

const Device& find_device(const std::vector<Device>& devices, const DeviceSummary& summary) {
  for (const Device& device : devices) {
    if (device.summary.platform_index == summary.platform_index &&
        device.summary.device_index == summary.device_index &&
        device.summary.identity() == summary.identity()) {
      return device;
    }
  }
  throw Error(
      fmt::format("OpenCL device {} is no longer listed by its platform", summary.describe()));
}

DeviceList list_devices() {
  DeviceList list;
  for (Device& device : discover_devices(&list.problem)) {
    list.devices.push_back(std::move(device.summary));
  }
  return list;
}

const DeviceSummary& select_device(const DeviceList& list, std::string_view selector) {
  if (list.devices.empty()) throw UsageError(list.problem);
  if (selector.empty()) {
    for (const DeviceSummary& device : list.devices) {
      if (!device.cpu) return device;
    }
    return list.devices.front();
  }
  int platform = 0, device_index = 0;
  std::size_t position = 0;
  const auto [end, error] =
      std::from_chars(selector.data(), selector.data() + selector.size(), position);
  if (error == std::errc() && end == selector.data() + selector.size()) {
    // N: the N-th device, in the order `hetero devices` lists them.
    if (position < list.devices.size()) return list.devices[position];
  } else if (parse_index(selector, platform, device_index)) {
    for (const DeviceSummary& device : list.devices) {
      if (device.platform_index == platform && device.device_index == device_index) return device;
    }
  } else {
    // Whole words only: "5" must not pick a device for the 5 inside "avx512".
    const std::string wanted = words_of(selector);
    for (const DeviceSummary& device : list.devices) {
      if (wanted.size() > 2 && words_of(device.name).find(wanted) != std::string::npos) {
        return device;
      }
    }
  }
  std::vector<std::string> names;
  for (const DeviceSummary& device : list.devices) {
    names.push_back(fmt::format("{} '{}' ({})", device.index(), device.name, device.platform));
  }
  throw UsageError(fmt::format(
      "--device '{}' matches no OpenCL device; the devices are {}; pass N (the N-th, from 0), "
      "P:D or whole words of a name",
      selector, fmt::join(names, ", ")));
}

Context create_context(const Device& device) {
  const cl_context_properties properties[] = {
      CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(device.platform), 0};
  cl_int status = CL_SUCCESS;
  Context context(clCreateContext(properties, 1, &device.id, nullptr, nullptr, &status));
  check(status, fmt::format("clCreateContext on {}", device.summary.name));
  return context;
}

Queue create_profiling_queue(cl_context context, const Device& device) {
  cl_int status = CL_SUCCESS;
  Queue queue(clCreateCommandQueue(context, device.id, CL_QUEUE_PROFILING_ENABLE, &status));
  check(status, fmt::format("clCreateCommandQueue on {}", device.summary.name));
  return queue;
}

Program build_program(cl_context context, const Device& device, std::string_view source,
                      std::string_view options) {
  const char* text = source.data();
  const std::size_t length = source.size();
  cl_int status = CL_SUCCESS;
  Program program(clCreateProgramWithSource(context, 1, &text, &length, &status));
  check(status, "clCreateProgramWithSource");
  const std::string options_text(options);
  status = clBuildProgram(program.get(), 1, &device.id, options_text.c_str(), nullptr, nullptr);
  if (status == CL_SUCCESS) return program;
  std::string log;
  std::size_t size = 0;
  if (clGetProgramBuildInfo(program.get(), device.id, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) ==
          CL_SUCCESS &&
      size > 1) {
    log.resize(size);
    clGetProgramBuildInfo(program.get(), device.id, CL_PROGRAM_BUILD_LOG, size, log.data(),
                          nullptr);
    drop_from_nul(log);
  }
  throw Error(fmt::format("OpenCL kernel build failed on {} with options '{}': {} ({}): {}",
                          device.summary.name, options, status_name(status), status,
                          first_lines(log, kBuildLogLines)));
}

void build_source(const DeviceSummary& summary, std::string_view source, std::string_view options) {
  const std::vector<Device> devices = discover_devices(nullptr);
  const Device& device = find_device(devices, summary);
  const Context context = create_context(device);
  build_program(context.get(), device, source, options);
}

std::pair<std::int64_t, std::int64_t> profiled_interval(cl_event event) {
  cl_ulong start = 0, end = 0;
  check(clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof(start), &start, nullptr),
        "clGetEventProfilingInfo(START)");
  check(clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof(end), &end, nullptr),
        "clGetEventProfilingInfo(END)");
  return {static_cast<std::int64_t>(start), static_cast<std::int64_t>(end)};
}

void wait_for(cl_event event, std::string_view what) {
  const cl_int status = clWaitForEvents(1, &event);
  cl_int execution = CL_COMPLETE;
  clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(execution), &execution, nullptr);
  if (status != CL_SUCCESS || execution < 0) {
    check(execution < 0 ? execution : status, what);
  }
}

}  // namespace hetero::nodes::opencl

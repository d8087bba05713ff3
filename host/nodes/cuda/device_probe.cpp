// CUDA device discovery, selection, enumeration and the link probe.
#include "nodes/cuda/device_probe.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "nodes/cuda/runtime.hpp"

namespace hetero::nodes::cuda {
namespace {

// Copy sizes of the bandwidth probe and repetitions per median: about 50 ms on PCIe Gen5.
constexpr std::uint64_t kProbeSizes[] = {std::uint64_t{64} << 10, std::uint64_t{1} << 20,
                                         std::uint64_t{16} << 20};
constexpr std::uint64_t kLargestProbe = kProbeSizes[std::size(kProbeSizes) - 1];
constexpr int kBandwidthRepeats = 5;
constexpr int kLatencyRepeats = 25;
constexpr std::size_t kLatencyBytes = 4;

// "13.0" for the version number 13000 the runtime reports.
std::string cuda_version(int version) {
  return fmt::format("{}.{}", version / 1000, version % 1000 / 10);
}

DeviceList query_devices() {
  DeviceList list;
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) {
    list.runtime = "CUDA runtime " + cuda_version(runtime);
  }
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) {
    list.driver = "CUDA driver " + cuda_version(driver);
  }
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    const bool no_driver = list.driver.empty();
    list.reason = fmt::format("{}cudaGetDeviceCount: {} ({})",
                              no_driver ? "no CUDA driver is installed: " : "",
                              cudaGetErrorString(status), cudaGetErrorName(status));
    return list;
  }
  if (count == 0) {
    list.reason = "no CUDA device: cudaGetDeviceCount found none";
    return list;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp properties{};
    const cudaError_t got = cudaGetDeviceProperties(&properties, i);
    if (got != cudaSuccess) {
      list.devices.clear();
      list.reason = fmt::format("cudaGetDeviceProperties of device {}: {} ({})", i,
                                cudaGetErrorString(got), cudaGetErrorName(got));
      return list;
    }
    DeviceProperties device;
    device.index = i;
    device.name = properties.name;
    device.multiprocessors = properties.multiProcessorCount;
    device.threads_per_multiprocessor = properties.maxThreadsPerMultiProcessor;
    device.memory_bytes = properties.totalGlobalMem;
    device.compute_major = properties.major;
    device.compute_minor = properties.minor;
    char bus_id[32] = {};
    if (cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, i) == cudaSuccess) device.pci_bus_id = bus_id;
    std::transform(device.pci_bus_id.begin(), device.pci_bus_id.end(), device.pci_bus_id.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    list.devices.push_back(std::move(device));
  }
  return list;
}

std::string device_names(const DeviceList& list) {
  std::vector<std::string> names;
  for (const DeviceProperties& device : list.devices) {
    names.push_back(fmt::format("{}: {}", device.index, device.name));
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

// The device index `text` names, or why it names none.
int parse_device(std::string_view backend, std::string_view text, const DeviceList& list) {
  if (text.empty()) return 0;
  int index = -1;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), index);
  const auto count = static_cast<int>(list.devices.size());
  if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size() || index < 0 ||
      index >= count) {
    throw UsageError(fmt::format(
        "--device '{}': {} takes a CUDA device index from 0 to {} ({}); see 'hetero devices'", text,
        backend, count - 1, device_names(list)));
  }
  return index;
}

NodeInfo base_info(std::string_view backend, int lanes) {
  NodeInfo info;
  info.name = std::string(backend);
  info.kind = NodeKind::device;
  info.concurrency = lanes;
  info.link = unmeasured_link();
  return info;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Seconds of one synchronous copy, from the call until the bytes are in place.
double time_copy(std::string_view backend, int device, void* dst, const void* src,
                 std::size_t bytes, cudaMemcpyKind kind) {
  const auto begin = std::chrono::steady_clock::now();
  check(cudaMemcpy(dst, src, bytes, kind), backend, device, "cudaMemcpy (link probe)", bytes);
  if (kind == cudaMemcpyHostToDevice) {
    // From pageable memory cudaMemcpy may return before the DMA lands.
    check(cudaStreamSynchronize(cudaStreamLegacy), backend, device, "cudaStreamSynchronize");
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
}

// Median of `repeats` copies after one untimed warm-up copy.
double median_copy(std::string_view backend, int device, void* dst, const void* src,
                   std::size_t bytes, cudaMemcpyKind kind, int repeats) {
  time_copy(backend, device, dst, src, bytes, kind);
  std::vector<double> seconds;
  seconds.reserve(static_cast<std::size_t>(repeats));
  for (int i = 0; i < repeats; ++i) {
    seconds.push_back(time_copy(backend, device, dst, src, bytes, kind));
  }
  return median(std::move(seconds));
}

}  // namespace

std::string DeviceProperties::description() const {
  return fmt::format("{} (device {}, {} SMs, {:.1f} GiB, compute capability {}.{})", name, index,
                     multiprocessors, static_cast<double>(memory_bytes) / (1 << 30), compute_major,
                     compute_minor);
}

std::string DeviceProperties::resource() const {
  // Lower-case domain:bus:device.function, the form the opencl node uses for the same GPU.
  std::string bus = pci_bus_id;
  std::transform(bus.begin(), bus.end(), bus.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return bus.empty() ? fmt::format("gpu:cuda:{}", index) : "gpu:pci:" + bus;
}

const DeviceList& device_list() {
  static const DeviceList list = query_devices();
  return list;
}

int select_device(std::string_view backend, const NodeOptions& options) {
  const DeviceList& list = device_list();
  if (list.devices.empty()) {
    throw UsageError(fmt::format("backend '{}' is unavailable: {}", backend, list.reason));
  }
  return parse_device(backend, options.device, list);
}

NodeInfo describe_node(std::string_view backend, const NodeOptions& options, int lanes) {
  NodeInfo info = base_info(backend, lanes);
  const DeviceList& list = device_list();
  if (list.devices.empty()) {
    info.reason = list.reason;
    return info;
  }
  int index = 0;
  try {
    index = parse_device(backend, options.device, list);
  } catch (const UsageError& e) {
    info.reason = e.what();
    return info;
  }
  const DeviceProperties& device = list.devices[static_cast<std::size_t>(index)];
  info.device = device.description();
  info.resource = device.resource();
  info.available = true;
  // Measuring would initialise the device: describe() only reports a link already measured.
  if (auto link = known_link(link_identity(index), Staging::pinned)) info.link = *std::move(link);
  return info;
}

std::vector<NodeInfo> enumerate_nodes(std::string_view backend, int lanes) {
  std::vector<NodeInfo> infos;
  for (const DeviceProperties& device : device_list().devices) {
    NodeOptions options;
    options.device = std::to_string(device.index);
    infos.push_back(describe_node(backend, options, lanes));
  }
  return infos;
}

LinkIdentity link_identity(int device) {
  const DeviceList& list = device_list();
  const DeviceProperties& properties = list.devices.at(static_cast<std::size_t>(device));
  const std::string where =
      properties.pci_bus_id.empty() ? fmt::format("device {}", device) : properties.pci_bus_id;
  return {"cuda", list.runtime, fmt::format("{} at {}", properties.name, where), list.driver};
}

LinkFigures measure_link(std::string_view backend, int device) {
  use_device(backend, device);
  DeviceSpace device_space{std::string(backend), device};
  PinnedHostSpace pinned_space{std::string(backend), device};
  Buffer<std::byte> on_device(device_space, kLargestProbe);
  Buffer<std::byte> pinned(pinned_space, kLargestProbe);
  std::vector<std::byte> pageable(kLargestProbe);
  // Touch every page first so the probe does not time page faults.
  std::memset(pageable.data(), 1, pageable.size());
  std::memset(pinned.data(), 1, pinned.bytes());

  LinkFigures figures;
  for (const bool to_device : {true, false}) {
    LinkDirection& direction = to_device ? figures.to_device : figures.to_host;
    const cudaMemcpyKind kind = to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
    for (const bool is_pinned : {false, true}) {
      std::byte* host = is_pinned ? pinned.data() : pageable.data();
      auto& table = is_pinned ? direction.pinned_bytes_per_s : direction.pageable_bytes_per_s;
      for (const std::uint64_t bytes : kProbeSizes) {
        void* destination = to_device ? static_cast<void*>(on_device.data()) : host;
        const void* source = to_device ? static_cast<const void*>(host) : on_device.data();
        table[bytes] = static_cast<double>(bytes) /
                       median_copy(backend, device, destination, source,
                                   static_cast<std::size_t>(bytes), kind, kBandwidthRepeats);
      }
    }
  }
  figures.to_device.latency_s = median_copy(backend, device, on_device.data(), pinned.data(),
                                            kLatencyBytes, cudaMemcpyHostToDevice, kLatencyRepeats);
  figures.to_host.latency_s = median_copy(backend, device, pinned.data(), on_device.data(),
                                          kLatencyBytes, cudaMemcpyDeviceToHost, kLatencyRepeats);
  return figures;
}

Link device_link(std::string_view backend, int device, LinkLookup lookup) {
  return hetero::device_link(link_identity(device), Staging::pinned, lookup,
                             [backend, device] { return measure_link(backend, device); });
}

}  // namespace hetero::nodes::cuda

// CUDA device discovery shared by the cuda and thrust nodes: availability with the driver's
// reason, device selection (--device), enumeration, and the link probe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hetero/node.hpp"

namespace hetero::nodes::cuda {

/// One CUDA device as the runtime reports it.
struct DeviceProperties {
  int index = 0;
  std::string name;
  int multiprocessors = 0;
  std::uint64_t memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;
  std::string pci_bus_id;  ///< e.g. 0000:1b:00.0; empty when the runtime gives none

  /// e.g. "NVIDIA H100 80GB HBM3 (device 0, 132 SMs, 79.1 GiB, compute capability 9.0)".
  std::string description() const;
  /// The hardware it occupies, shared by every node on the same GPU: "gpu:pci:<bus id>".
  std::string resource() const;
};

/// The devices the CUDA runtime sees, or why it sees none (the driver's own message).
struct DeviceList {
  std::vector<DeviceProperties> devices;
  std::string reason;  ///< empty when devices is not empty
};

/// Queried once per process (cudaGetDeviceCount, cudaGetDeviceProperties); takes no device.
const DeviceList& device_list();

/// The device index `options.device` names (empty: 0). Throws UsageError naming the devices
/// there are when the text is not an index of one.
int select_device(std::string_view backend, const NodeOptions& options);

/// A node's NodeInfo on the device `options` selects: available, or why not. `lanes` is the
/// number of streams the node records on.
NodeInfo describe_node(std::string_view backend, const NodeOptions& options, int lanes);
/// One NodeInfo per device, for `hetero devices`; empty when there is none.
std::vector<NodeInfo> enumerate_nodes(std::string_view backend, int lanes);

/// One measured copy size: the median of several synchronous copies.
struct CopyFigure {
  std::uint64_t bytes = 0;
  bool pinned = false;     ///< page-locked host memory (else pageable)
  bool to_device = false;  ///< host to device (else device to host)
  double seconds = 0;
  double bytes_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds : 0; }
};

/// What the link probe measured: bandwidth per size, host memory kind and direction, and the
/// latency of a 4-byte copy from pinned memory.
struct LinkProbe {
  std::vector<CopyFigure> copies;
  double to_device_latency_s = 0, to_host_latency_s = 0;
  /// The link the nodes use: pinned bandwidth at the largest size (the counts path) and the
  /// small-copy latencies.
  Link link() const;
};

/// Measures the link of `device` now (about 50 ms past the device's initialisation); throws
/// Error if a copy fails.
LinkProbe measure_link(std::string_view backend, int device);

/// The link of `device` as last measured in this process, measuring it first when it never
/// was or when `remeasure` is set.
Link device_link(std::string_view backend, int device, bool remeasure);

}  // namespace hetero::nodes::cuda

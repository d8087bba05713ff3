// CUDA device discovery shared by the cuda and thrust nodes: availability with the driver's
// reason, device selection (--device), enumeration, and the link probe with its cache entry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/link_cache.hpp"
#include "hetero/backend/node.hpp"

namespace hetero::nodes::cuda {

/// One CUDA device as the runtime reports it.
struct DeviceProperties {
  int index = 0;
  std::string name;
  int multiprocessors = 0;
  int threads_per_multiprocessor = 0;  ///< resident at once
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
  std::string reason;   ///< empty when devices is not empty
  std::string runtime;  ///< "CUDA runtime 13.0"
  std::string driver;   ///< "CUDA driver 13.0": the CUDA version the installed driver supports
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

/// The cache entry of `device`: the CUDA runtime, the device's name and PCI bus id, and the
/// driver's CUDA version. The cuda and thrust nodes share it: the link is the GPU's.
LinkIdentity link_identity(int device);

/// Measures the link of `device` now (about 50 ms past the device's initialisation): bandwidth
/// per copy size from pageable and pinned memory, and the latency of a 4-byte copy from pinned
/// memory. Throws Error, naming `backend`, if a copy fails.
LinkFigures measure_link(std::string_view backend, int device);

/// The link of `device`, with source "cache" or "probe" (see hetero::device_link). Its bandwidth
/// is that of pinned memory, which the nodes stage their counts in.
Link device_link(std::string_view backend, int device, LinkLookup lookup);

}  // namespace hetero::nodes::cuda

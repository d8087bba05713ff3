// The link between the host and an OpenCL device: measured by a short probe (bandwidth per
// direction from pageable and pinned host memory, latency of a small copy) and cached on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>

#include "device.hpp"
#include "hetero/node.hpp"

namespace hetero::nodes::opencl {

/// One direction of the link: medians of repeated blocking copies.
struct LinkDirection {
  double latency_s = 0;                                  ///< a 4-byte copy from pageable memory
  std::map<std::uint64_t, double> pageable_bytes_per_s;  ///< by copy size in bytes
  std::map<std::uint64_t, double> pinned_bytes_per_s;    ///< CL_MEM_ALLOC_HOST_PTR, mapped
};

struct LinkFigures {
  LinkDirection to_device, to_host;
  /// The figures a node carries: latency, and the bandwidth of the largest pageable copy (the
  /// node's own copies use pageable memory). zero_copy is false; source is left to the caller.
  Link link() const;
};

/// Measures the link of `device` now (a context of its own; a fraction of a second).
LinkFigures measure_link(const DeviceSummary& device);

/// links.json in hetero's cache directory (cache_directory(): $HETERO_CACHE_DIR, else
/// ${XDG_CACHE_HOME:-$HOME/.cache}/hetero).
std::filesystem::path link_cache_file();

enum class LinkLookup : std::uint8_t {
  cached,     ///< the cache's figures when valid for this device, else measure and store
  remeasure,  ///< measure and store whatever the cache holds
};

/// The link of `device`, with source "cache" or "probe". The cache holds one entry per device
/// identity (platform, name, driver) and keeps entries it does not know. A corrupt cache, or an
/// entry that does not match the device, is reported once on stderr and measured again; a cache
/// that cannot be written is reported once and the figures are kept for the rest of the process.
Link device_link(const DeviceSummary& device, LinkLookup lookup = LinkLookup::cached);

}  // namespace hetero::nodes::opencl

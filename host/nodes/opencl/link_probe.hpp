// The link between the host and an OpenCL device: measured by a short probe (bandwidth per
// direction from pageable and pinned host memory, latency of a small copy) and kept in hetero's
// link cache (core/link_cache.hpp).
#pragma once

#include "core/link_cache.hpp"
#include "device.hpp"
#include "hetero/backend/node.hpp"

namespace hetero::nodes::opencl {

/// Measures the link of `device` now (a context of its own; a fraction of a second). The latency
/// is that of a 4-byte copy from pageable memory; pinned memory is CL_MEM_ALLOC_HOST_PTR, mapped.
LinkFigures measure_link(const DeviceSummary& device);

/// The cache entry of `device`: platform, name and driver.
LinkIdentity link_identity(const DeviceSummary& device);

/// The link of `device`, with source "cache" or "probe" (see hetero::device_link). Its bandwidth
/// is that of pageable memory, which the node's own copies use.
Link device_link(const DeviceSummary& device, LinkLookup lookup = LinkLookup::cached);

}  // namespace hetero::nodes::opencl

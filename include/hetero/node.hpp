// What a node is, as users see it: its kind, its link to the host, what it runs on, and the
// options it is created with. The interface backends implement is hetero/backend/node.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hetero {

enum class NodeKind : std::uint8_t { host, device, remote };
std::string_view to_string(NodeKind kind);

/// How a node's memory reaches the host's. Host nodes share the host's memory (zero copy);
/// device and remote nodes have a measured latency and bandwidth per direction.
struct Link {
  bool zero_copy = true;
  double to_device_latency_s = 0, to_host_latency_s = 0;
  double to_device_bytes_per_s = 0, to_host_bytes_per_s = 0;  ///< 0: not measured
  std::string source = "zero-copy";                           ///< zero-copy, probe or cache

  /// Bandwidth in bytes per second by copy size in bytes, from each kind of host memory.
  struct BySize {
    std::map<std::uint64_t, double> pageable, pinned;
  };
  /// What the probe measured per copy size; empty where it did not sweep sizes.
  BySize to_device_by_size, to_host_by_size;
};

/// What a node says about itself, available or not.
struct NodeInfo {
  std::string name;  ///< backend name: serial, threads, openmp, ...
  NodeKind kind = NodeKind::host;
  std::string device;               ///< what it runs on, e.g. the CPU model or the GPU's name
  std::string resource;             ///< hardware it occupies; nodes with equal resources share it
  int concurrency = 1;              ///< workers (host), or lanes the node records on
  bool adjustable_workers = false;  ///< honours NodeOptions::workers
  /// Host nodes: the tile kernel the Mandelbrot job runs on it (NodeOptions::kernel where the
  /// node honours it: scalar, simd-cycles, simd, simd-shortcuts); empty for other nodes (their
  /// own).
  std::string tile_kernel;
  bool available = false;
  std::string reason;  ///< why it is not available; empty when it is
  Link link;
};

/// A backend asked for that cannot run here, and why (NodeInfo::reason).
struct UnavailableNode {
  std::string name;
  std::string reason;
};

/// The cap on a device node's memory: `bytes` when set, else `fraction` of the memory the device
/// has free when the node is created. A tile that does not fit is computed in smaller pieces.
struct MemoryCap {
  double fraction = 0.9;
  std::uint64_t bytes = 0;  ///< 0: use fraction
  /// The cap in bytes for a device with `free_bytes` free.
  std::uint64_t of(std::uint64_t free_bytes) const;
};

/// Run-time settings a node is created with.
struct NodeOptions {
  int workers = 0;                ///< host workers; 0: one per hardware thread
  std::string device;             ///< device selector for device nodes; empty: the first
  std::string kernel = "scalar";  ///< host tile kernel of threads/openmp, of simd if its own
  MemoryCap memory;               ///< device nodes: the cap on their own memory
  /// Replaces the node's measured link in what it says of itself (NodeInfo::link), so in every
  /// plan and prediction made from it: what-if studies of a slower or faster link. Copies still
  /// run at the real link's speed.
  std::optional<Link> link;
};

}  // namespace hetero

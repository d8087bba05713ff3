// Node: one compute resource with its own memory, its link to the host, and its workers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "hetero/buffer.hpp"
#include "hetero/job.hpp"
#include "hetero/trace.hpp"

namespace hetero {

namespace backend {
struct KernelDefinition;
struct Launch;
}  // namespace backend

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
  std::string kernel = "scalar";  ///< host tile kernel of threads/openmp: scalar or simd
  MemoryCap memory;               ///< device nodes: the cap on their own memory
};

/// The tiles a node is given during one run, as its policy hands them out.
class WorkSource {
 public:
  virtual ~WorkSource() = default;
  /// True when tiles are pulled one at a time from a shared queue (dynamic policies);
  /// false when the node's tiles are fixed up front and returned by assigned().
  virtual bool self_scheduling() const = 0;
  virtual std::span<const Tile> assigned() const = 0;
  /// Next tile under a self-scheduling policy; nullopt when none is left or a stop was asked.
  virtual std::optional<Tile> next() = 0;
  /// True once the run was asked to stop: nodes finish the tile in hand and return.
  virtual bool stop_requested() const = 0;
  /// Reports a finished tile (its counts are in place).
  virtual void completed(const Tile& tile) = 0;
};

/// A compute resource. Created through the NodeRegistry; driven by the Dispatcher from one
/// proxy thread per node.
class Node {
 public:
  virtual ~Node() = default;
  virtual const NodeInfo& info() const = 0;
  /// Lanes this node records trace events on (workers, streams or queues).
  virtual int lanes() const { return info().concurrency; }
  /// Computes every tile `work` gives it, writing the counts of tile t to
  /// counts[t.begin, t.end) in host memory. Returns when `work` has no more tiles; throws
  /// Error on failure.
  virtual void run(const Job& job, WorkSource& work, std::span<std::uint32_t> counts,
                   NodeTrace& trace) = 0;
  /// The node's own memory space (device nodes); nullptr for nodes that use host memory.
  virtual MemorySpace* memory_space() { return nullptr; }

  /// Whether this node has an implementation of `kernel` it can run; when not, `why` says so
  /// in words that name the node and the implementations the kernel has.
  virtual bool can_run(const backend::KernelDefinition& kernel, std::string& why) const;
  /// Runs the user's kernel over every tile `work` gives it, with the implementation
  /// can_run() accepted. Arguments are bound to host memory: a device node copies in what a
  /// tile reads and copies out what it writes, each copy traced. Throws Error on failure.
  virtual void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace);
};

}  // namespace hetero

// Node: one compute resource with its own memory, its link to the host, and its workers; and the
// WorkSource a run hands it its tiles through. For backend authors; users name nodes through
// hetero::Runtime.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "hetero/backend/memory.hpp"
#include "hetero/job.hpp"
#include "hetero/node.hpp"
#include "hetero/trace.hpp"

namespace hetero {

namespace backend {
struct KernelDefinition;
struct Launch;
}  // namespace backend

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
  /// The most tiles this source can hand the node (its fixed tiles, or a bound on what the
  /// shared queue holds): a node need not start more workers than this.
  virtual std::size_t max_tiles() const {
    return self_scheduling() ? std::numeric_limits<std::size_t>::max() : assigned().size();
  }
};

/// A compute resource. Created through the NodeRegistry; driven by the Dispatcher, from the
/// calling thread when it is a run's lone host node, else from a proxy thread of its own.
class Node {
 public:
  virtual ~Node() = default;
  virtual const NodeInfo& info() const = 0;
  /// Lanes this node records trace events on (workers, streams or queues).
  virtual int lanes() const { return info().concurrency; }
  /// The node's own memory space (device nodes); nullptr for nodes that use host memory.
  virtual MemorySpace* memory_space() { return nullptr; }
  /// The elements a launch of `kernel` needs to give every thread the device holds at once its
  /// share of them (a GPU's full wave: its resident threads, times the elements each thread
  /// computes in the implementation this node runs): fewer leave it partly idle, and a
  /// throughput measured on fewer says little of a large job. 0 for a node with no such minimum
  /// (host nodes).
  virtual std::int64_t full_wave(const backend::KernelDefinition& /*kernel*/) const { return 0; }
  /// Host memory the node's link copies fastest to and from (a GPU's pinned memory), where a run
  /// allocates the results it owns (the Mandelbrot counts) so that they cross the link without a
  /// bounce through a staging buffer; what is allocated in it keeps it alive. nullptr: plain
  /// host memory is as good.
  virtual std::shared_ptr<MemorySpace> host_staging() { return nullptr; }

  /// Whether this node has an implementation of `kernel` it can run; when not, `why` says so
  /// in words that name the node and the implementations the kernel has.
  virtual bool can_run(const backend::KernelDefinition& kernel, std::string& why) const;
  /// Runs a kernel (the user's, or the Mandelbrot job's: hetero::mandelbrot_kernel) over every
  /// tile `work` gives it, with the implementation can_run() accepted. Arguments are bound to
  /// host memory: a device node copies in what a tile reads and copies out what it writes, each
  /// copy traced. Returns when `work` has no more tiles; throws Error on failure.
  virtual void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace);
};

}  // namespace hetero

// Registered arrays in an OpenCL device's memory: a replica shaped like the host copy, copies of
// block runs (pitched rows as one rectangular copy), and the copies kernels must wait for.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hetero/backend/coherence.hpp"
#include "hetero/backend/memory.hpp"
#include "runtime.hpp"
#include "space.hpp"

namespace hetero::nodes::opencl {

/// Enqueues the copy of `run` between the host copy of `array` and `memory` (which has the host
/// copy's shape): one copy for contiguous blocks, a rectangular one for rows that lie apart.
/// Blocking or not as asked; `event` (may be null) receives the command's event.
void enqueue_block_copy(cl_command_queue queue, cl_mem memory, const backend::ArrayRecord& array,
                        backend::BlockRun run, bool to_device, bool blocking, cl_event* event);

class OpenCLReplica final : public backend::Replica {
 public:
  /// Allocates the replica in `space` (throws OutOfMemory past its cap); copies back to the
  /// host run on `write_back_queue`.
  OpenCLReplica(OpenCLSpace& space, cl_command_queue write_back_queue,
                const backend::ArrayRecord& array);

  std::string_view space_name() const override { return space_.name(); }
  void copy_to_host(const backend::ArrayRecord& array, backend::BlockRun run) override;

  cl_mem memory() const { return memory_; }
  /// Enqueues the copy of `run` from the host, non-blocking on `queue`; kernels on any queue
  /// that read those blocks wait for it (see add_pending). Returns the copy's event.
  std::shared_ptr<Event> copy_from_host(cl_command_queue queue, const backend::ArrayRecord& array,
                                        backend::BlockRun run);
  /// Adds the events of copies into `run`'s blocks to `wait_list` (once each).
  void add_pending(backend::BlockRun run, std::vector<cl_event>& wait_list) const;

 private:
  OpenCLSpace& space_;
  cl_command_queue write_back_queue_;
  Buffer<std::byte> buffer_;
  cl_mem memory_ = nullptr;
  std::vector<std::shared_ptr<Event>> ready_;  // per block: the last copy into it
};

}  // namespace hetero::nodes::opencl

// Registered arrays in an OpenCL device's memory.
#include "replica.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace hetero::nodes::opencl {

void enqueue_block_copy(cl_command_queue queue, cl_mem memory, const backend::ArrayRecord& array,
                        backend::BlockRun run, bool to_device, bool blocking, cl_event* event) {
  const backend::ArrayRecord::Shape& shape = array.shape();
  const cl_bool block = blocking ? CL_TRUE : CL_FALSE;
  const std::string what = fmt::format("{} of {}", to_device ? "write" : "read", array.label());
  if (shape.dims == 1 || shape.pitch == shape.width) {
    const std::size_t offset = array.offset_of(run);
    void* host = static_cast<std::byte*>(array.host()) + offset;
    const std::size_t bytes = array.span_of(run);
    check(to_device
              ? clEnqueueWriteBuffer(queue, memory, block, offset, bytes, host, 0, nullptr, event)
              : clEnqueueReadBuffer(queue, memory, block, offset, bytes, host, 0, nullptr, event),
          what);
    return;
  }
  // Rows that lie apart: one rectangle of `width` bytes per row, both sides pitched alike.
  const auto [first_row, end_row] = array.extent_of(run);
  const std::size_t row_pitch = static_cast<std::size_t>(shape.pitch) * shape.element_bytes;
  const std::array<std::size_t, 3> origin{0, static_cast<std::size_t>(first_row), 0};
  const std::array<std::size_t, 3> region{
      static_cast<std::size_t>(shape.width) * shape.element_bytes,
      static_cast<std::size_t>(end_row - first_row), 1};
  check(to_device ? clEnqueueWriteBufferRect(queue, memory, block, origin.data(), origin.data(),
                                             region.data(), row_pitch, 0, row_pitch, 0,
                                             array.host(), 0, nullptr, event)
                  : clEnqueueReadBufferRect(queue, memory, block, origin.data(), origin.data(),
                                            region.data(), row_pitch, 0, row_pitch, 0, array.host(),
                                            0, nullptr, event),
        what);
}

OpenCLReplica::OpenCLReplica(OpenCLSpace& space, cl_command_queue write_back_queue,
                             const backend::ArrayRecord& array)
    : space_(space),
      write_back_queue_(write_back_queue),
      buffer_(space, std::max<std::size_t>(1, array.bytes())),
      memory_(space.resolve(buffer_.data(), buffer_.bytes()).memory),
      ready_(static_cast<std::size_t>(array.blocks())) {}

void OpenCLReplica::copy_to_host(const backend::ArrayRecord& array, backend::BlockRun run) {
  enqueue_block_copy(write_back_queue_, memory_, array, run, /*to_device=*/false,
                     /*blocking=*/true, nullptr);
}

std::shared_ptr<Event> OpenCLReplica::copy_from_host(cl_command_queue queue,
                                                     const backend::ArrayRecord& array,
                                                     backend::BlockRun run) {
  auto event = std::make_shared<Event>();
  enqueue_block_copy(queue, memory_, array, run, /*to_device=*/true, /*blocking=*/false,
                     event->out());
  std::fill(ready_.begin() + run.first, ready_.begin() + run.end(), event);
  return event;
}

void OpenCLReplica::add_pending(backend::BlockRun run, std::vector<cl_event>& wait_list) const {
  const Event* last = nullptr;
  for (std::int64_t b = run.first; b < run.end(); ++b) {
    const Event* event = ready_[static_cast<std::size_t>(b)].get();
    if (event == nullptr || event == last) continue;
    last = event;
    if (std::find(wait_list.begin(), wait_list.end(), event->get()) == wait_list.end()) {
      wait_list.push_back(event->get());
    }
  }
}

}  // namespace hetero::nodes::opencl

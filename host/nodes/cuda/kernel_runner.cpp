// User kernels on a CUDA GPU.
#include "nodes/cuda/kernel_runner.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "hetero/backend/memory.hpp"
#include "hetero/error.hpp"
#include "nodes/host_kernel.hpp"

namespace hetero::nodes::cuda {
using backend::argument_label;

bool KernelRunner::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  if (kernel.cuda) return true;
  why = fmt::format("node '{}' runs CUDA implementations and kernel '{}' has none (it has {})",
                    node_, kernel.name, kernel.families());
  return false;
}

void KernelRunner::run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  use_device(node_, device_);
  TraceLane& lane = trace.lane(0);
  const Stream stream(node_, device_);
  const Event started(node_, device_, /*blocking=*/false);
  const Event computed(node_, device_, /*blocking=*/true);
  const DeviceClock clock(node_, device_, stream.get(), lane);

  // Replicas: the bindings the launcher gets point into them, at the host array's shape.
  std::vector<Buffer<std::byte>> replicas;
  std::vector<backend::ArgumentBinding> on_device = launch.arguments;
  for (std::size_t i = 0; i < on_device.size(); ++i) {
    replicas.emplace_back();
    backend::ArgumentBinding& argument = on_device[i];
    if (!argument.is_array) continue;
    replicas.back() = Buffer<std::byte>(space_, std::max<std::size_t>(1, argument.bytes()));
    argument.data = replicas.back().data();
    if (argument.access == Access::read_whole && argument.bytes() > 0) {
      // A registered array is staged through its host copy: no replica stays here yet.
      if (argument.array) argument.array->make_host_valid(argument.array->all_blocks(), &lane);
      copy(replicas.back(), 0,
           std::span<const std::byte>(static_cast<const std::byte*>(launch.arguments[i].data),
                                      argument.bytes()),
           lane, argument_label(i));
    }
  }

  // Copies the tile's part of every array it reads (to the device, the halo as copies of its
  // own) or writes (to the host).
  const auto copy_slices = [&](const backend::TileRange& range, const Tile& tile, bool to_device) {
    for (std::size_t i = 0; i < on_device.size(); ++i) {
      const backend::ArgumentBinding& argument = launch.arguments[i];
      for (const auto& [slice, cause] : backend::tile_copies(argument, range, to_device)) {
        auto* host = static_cast<std::byte*>(argument.data) + slice.offset;
        if (to_device) {
          copy(replicas[i], slice.offset, std::span<const std::byte>(host, slice.bytes), lane,
               argument_label(i), tile.index, cause);
        } else {
          copy(std::span<std::byte>(host, slice.bytes), replicas[i], slice.offset, lane,
               argument_label(i), tile.index);
        }
      }
    }
  };

  for_each_tile(work, 0, 1, [&](const Tile& tile) {
    const backend::TileRange range = launch.range(tile);
    backend::stage_on_host(launch, range, &lane);
    copy_slices(range, tile, /*to_device=*/true);
    started.record(stream.get(), node_, device_);
    launch.kernel->cuda(stream.get(), range, on_device);
    check(cudaGetLastError(), node_, device_,
          fmt::format("launch of kernel '{}'", launch.kernel->name));
    computed.record(stream.get(), node_, device_);
    computed.synchronize(node_, device_);
    const std::int64_t now = lane.now_ns();
    const std::int64_t end = std::min(clock.host_ns(computed.get()), now);
    lane.compute(tile, std::min(clock.host_ns(started.get()), end), end, launch.work_units(tile));
    copy_slices(range, tile, /*to_device=*/false);
    backend::commit_on_host(launch, range);
    work.completed(tile);
  });
}

}  // namespace hetero::nodes::cuda

// Kernel launches as nodes receive them: tiles in the space's terms, work units, and what a node
// without user-kernel support says.
#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"

namespace hetero {

std::string_view to_string(Access access) {
  switch (access) {
    case Access::read_whole:
      return "read";
    case Access::read_slice:
      return "read slice";
    case Access::write_slice:
      return "write slice";
    case Access::read_write_slice:
      return "read-write slice";
  }
  return "?";
}

namespace backend {

std::string KernelDefinition::families() const {
  std::vector<std::string_view> names;
  if (host) names.push_back("host");
  if (simd) names.push_back("simd");
  if (!opencl.empty()) names.push_back("opencl");
  if (cuda) names.push_back("cuda");
  if (thrust) names.push_back("thrust");
  if (thrust_omp) names.push_back("thrust (OpenMP)");
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

bool reads_slice(Access access) {
  return access == Access::read_slice || access == Access::read_write_slice;
}

bool writes_slice(Access access) {
  return access == Access::write_slice || access == Access::read_write_slice;
}

TileRange own_range(const ArgumentBinding& argument, const TileRange& tile) {
  if (argument.chunk <= 0) return tile;
  return {tile.begin / argument.chunk, (tile.end + argument.chunk - 1) / argument.chunk, 0, 1};
}

TileRange reach_of(const ArgumentBinding& argument, const TileRange& own) {
  const TileRange tile = own_range(argument, own);
  if (argument.halo <= 0) return tile;
  const std::int64_t extent = tile.dims == 1 ? argument.width : argument.height;
  TileRange reach = tile;
  reach.begin = std::max<std::int64_t>(0, tile.begin - argument.halo);
  reach.end = std::min(extent, tile.end + argument.halo);
  return reach;
}

namespace {

// The bytes of the elements (1-D) or rows (2-D) `tile` names, with what lies between rows.
ByteRange bytes_of(const ArgumentBinding& argument, const TileRange& tile) {
  const std::size_t element = argument.element_bytes;
  if (tile.dims == 1) {
    return {static_cast<std::size_t>(tile.begin) * element,
            static_cast<std::size_t>(tile.end - tile.begin) * element};
  }
  const auto first = static_cast<std::size_t>(tile.begin * argument.pitch) * element;
  const auto last =
      static_cast<std::size_t>((tile.end - 1) * argument.pitch + argument.width) * element;
  return {first, last - first};
}

}  // namespace

ByteRange slice_of(const ArgumentBinding& argument, const TileRange& tile) {
  return bytes_of(argument, reach_of(argument, tile));
}

std::vector<SliceCopy> tile_copies(const ArgumentBinding& argument, const TileRange& own,
                                   bool to_device) {
  if (!argument.is_array) return {};
  const TileRange tile = own_range(argument, own);
  if (!to_device) {
    if (!writes_slice(argument.access)) return {};
    if (tile.dims == 1 || argument.pitch == argument.width) {
      return {{bytes_of(argument, tile), TransferCause::write_back}};
    }
    // Rows apart: each row alone, so that what lies between rows in the host array (not the
    // kernel's to write) is left as it is.
    std::vector<SliceCopy> rows;
    for (std::int64_t y = tile.begin; y < tile.end; ++y) {
      TileRange row = tile;
      row.begin = y;
      row.end = y + 1;
      rows.push_back({bytes_of(argument, row), TransferCause::write_back});
    }
    return rows;
  }
  if (!reads_slice(argument.access)) return {};
  std::vector<SliceCopy> copies{{bytes_of(argument, tile), TransferCause::read_miss}};
  const TileRange reach = reach_of(argument, tile);
  TileRange before = tile, after = tile;
  before.begin = reach.begin;
  before.end = tile.begin;
  after.begin = tile.end;
  after.end = reach.end;
  for (const TileRange& halo : {before, after}) {
    if (halo.end > halo.begin) copies.push_back({bytes_of(argument, halo), TransferCause::halo});
  }
  return copies;
}

std::string argument_label(std::size_t index) {
  return fmt::format("argument {}", index + 1);
}

std::string opencl_build_source(const KernelDefinition& kernel,
                                const OpenCLImplementation& implementation) {
  if (!kernel.exact) return implementation.source;
  return "#pragma OPENCL FP_CONTRACT OFF\n" + implementation.source;
}

std::uint64_t next_kernel_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

namespace {

struct KernelTable {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<const KernelDefinition>, std::less<>> by_name;
};

KernelTable& kernel_table() {
  static KernelTable table;
  return table;
}

}  // namespace

void register_kernel(std::shared_ptr<const KernelDefinition> kernel) {
  KernelTable& table = kernel_table();
  std::lock_guard lock(table.mutex);
  const auto [it, added] = table.by_name.try_emplace(kernel->name, kernel);
  if (!added && it->second->id != kernel->id) {
    throw UsageError(fmt::format(
        "two different kernels are named '{}': the ranks of an MPI job find kernels by name, "
        "so give each kernel a name of its own",
        kernel->name));
  }
}

std::shared_ptr<const KernelDefinition> find_kernel(std::string_view name) {
  KernelTable& table = kernel_table();
  std::lock_guard lock(table.mutex);
  const auto it = table.by_name.find(name);
  return it == table.by_name.end() ? nullptr : it->second;
}

TileRange Launch::range(const Tile& tile) const {
  if (dims() == 2) return {tile.begin / width, tile.end / width, width, 2};
  return {tile.begin, tile.end, 0, 1};
}

std::uint64_t Launch::work_units(const Tile& tile) const {
  if (!kernel->cost) return static_cast<std::uint64_t>(tile.size());
  return static_cast<std::uint64_t>(std::llround(std::max(0.0, kernel->cost(range(tile)))));
}

std::int64_t Launch::tile_granule() const {
  std::int64_t granule = 1;
  if (dims() != 1) return granule;
  for (const ArgumentBinding& argument : arguments) {
    if (argument.array && writes_slice(argument.access)) {
      granule = std::lcm(
          granule, argument.array->block_extent() * std::max<std::int64_t>(1, argument.chunk));
    }
  }
  return granule;
}

std::vector<BlockRun> blocks_to_read(const ArgumentBinding& argument, const TileRange& own) {
  if (!argument.array) return {};
  const TileRange tile = own_range(argument, own);
  const ArrayRecord& array = *argument.array;
  if (argument.access == Access::read_whole) return {array.all_blocks()};
  if (reads_slice(argument.access)) {
    const TileRange reach = reach_of(argument, own);
    return {array.blocks_of(reach.begin, reach.end)};
  }
  // A written slice: the blocks it shares with its neighbours' parts or the array's rest.
  const std::int64_t extent = array.block_extent();
  const std::int64_t limit = tile.dims == 1 ? argument.width : argument.height;
  std::vector<BlockRun> partial;
  if (tile.begin % extent != 0) partial.push_back(array.blocks_of(tile.begin, tile.begin + 1));
  if (tile.end % extent != 0 && tile.end != limit) {
    const BlockRun last = array.blocks_of(tile.end - 1, tile.end);
    if (partial.empty() || partial.back().first != last.first) partial.push_back(last);
  }
  return partial;
}

BlockRun blocks_written(const ArgumentBinding& argument, const TileRange& tile) {
  if (!argument.array || !writes_slice(argument.access)) return {};
  const TileRange own = own_range(argument, tile);
  return argument.array->blocks_of(own.begin, own.end);
}

void stage_on_host(const Launch& launch, const TileRange& tile, TraceLane* lane) {
  for (const ArgumentBinding& argument : launch.arguments) {
    for (const BlockRun run : blocks_to_read(argument, tile)) {
      argument.array->make_host_valid(run, lane);
    }
  }
}

void commit_on_host(const Launch& launch, const TileRange& tile) {
  for (const ArgumentBinding& argument : launch.arguments) {
    const BlockRun written = blocks_written(argument, tile);
    if (!written.empty()) argument.array->mark_written(ArrayRecord::kHost, written);
  }
}

}  // namespace backend

bool Node::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  why = fmt::format("node '{}' runs no user kernels yet (kernel '{}' has {})", info().name,
                    kernel.name, kernel.families());
  return false;
}

void Node::launch(const backend::Launch& launch, WorkSource& /*work*/, NodeTrace& /*trace*/) {
  std::string why;
  can_run(*launch.kernel, why);
  throw Error(why);
}

}  // namespace hetero

// Byte encoding of the messages between rank 0 and the remote ranks.
#include "protocol.hpp"

#include <chrono>

namespace hetero::nodes::mpi {
namespace {

ByteWriter command(Command command) {
  ByteWriter writer;
  writer.put(command);
  return writer;
}

void put_options(ByteWriter& writer, const RankConfig& config) {
  writer.put_string(config.backend);
  writer.put(static_cast<std::int32_t>(config.options.workers));
  writer.put_string(config.options.device);
  writer.put_string(config.options.kernel);
}

void put_node_info(ByteWriter& writer, const NodeInfo& info) {
  writer.put_string(info.name);
  writer.put(info.kind);
  writer.put_string(info.device);
  writer.put_string(info.resource);
  writer.put(static_cast<std::int32_t>(info.concurrency));
  writer.put(static_cast<std::uint8_t>(info.available ? 1 : 0));
  writer.put_string(info.reason);
}

void put_kernel(ByteWriter& writer, const KernelQuery& query) {
  writer.put_string(query.name);
  writer.put(query.dims);
  writer.put_string(query.signature);
  put_options(writer, query.config);
}

// Calls `row(offset, bytes)` for each row of the tile's reach in `argument`'s array: in 1-D one
// row; in 2-D each row's first `width` elements.
template <class Row>
void for_each_row(const backend::ArgumentBinding& argument, const backend::TileRange& own,
                  Row row) {
  const backend::TileRange tile = backend::reach_of(argument, own);
  const std::size_t element = argument.element_bytes;
  if (tile.dims == 1) {
    row(static_cast<std::size_t>(tile.begin) * element,
        static_cast<std::size_t>(tile.end - tile.begin) * element);
    return;
  }
  for (std::int64_t y = tile.begin; y < tile.end; ++y) {
    row(static_cast<std::size_t>(y * argument.pitch) * element,
        static_cast<std::size_t>(argument.width) * element);
  }
}

NodeInfo get_node_info(ByteReader& reader) {
  NodeInfo info;
  info.name = reader.get_string();
  info.kind = reader.get<NodeKind>();
  info.device = reader.get_string();
  info.resource = reader.get_string();
  info.concurrency = reader.get<std::int32_t>();
  info.available = reader.get<std::uint8_t>() != 0;
  info.reason = reader.get_string();
  return info;
}

}  // namespace

std::vector<std::uint8_t> encode(const ProbePlan& plan) {
  ByteWriter writer = command(Command::probe);
  writer.put(plan.latency_rounds);
  writer.put(plan.bandwidth_reps);
  writer.put(static_cast<std::uint32_t>(plan.bandwidth_sizes.size()));
  for (const std::int64_t size : plan.bandwidth_sizes) writer.put(size);
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(const RankConfig& config) {
  ByteWriter writer = command(Command::configure);
  put_options(writer, config);
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(const TileOrder& order) {
  ByteWriter writer = command(Command::tile);
  writer.put(order.slot);
  writer.put(order.tile);
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(const KernelQuery& query) {
  ByteWriter writer = command(Command::query_kernel);
  put_kernel(writer, query);
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(const LaunchMessage& message) {
  ByteWriter writer = command(Command::launch);
  put_kernel(writer, message.kernel);
  writer.put(message.width);
  writer.put(message.height);
  writer.put(static_cast<std::uint32_t>(message.arguments.size()));
  for (const backend::ArgumentBinding& argument : message.arguments) {
    writer.put(static_cast<std::uint8_t>(argument.is_array ? 1 : 0));
    if (!argument.is_array) {
      writer.put(static_cast<std::uint32_t>(argument.scalar_bytes));
      writer.put_bytes(argument.scalar.data(), argument.scalar_bytes);
      continue;
    }
    writer.put(argument.access);
    writer.put(static_cast<std::uint64_t>(argument.element_bytes));
    writer.put(argument.width);
    writer.put(argument.height);
    writer.put(argument.pitch);
    writer.put(argument.halo);
    writer.put(argument.chunk);
    if (argument.access == Access::read_whole) writer.put_bytes(argument.data, argument.bytes());
  }
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(Command command_only) {
  return std::move(command(command_only).bytes());
}

std::vector<std::uint8_t> encode(const RankReply& reply) {
  ByteWriter writer;
  writer.put(static_cast<std::uint8_t>(reply.ok ? 1 : 0));
  writer.put_string(reply.error);
  writer.put_string(reply.host);
  writer.put(reply.pid);
  put_node_info(writer, reply.node);
  return std::move(writer.bytes());
}

ProbePlan decode_probe_plan(ByteReader& reader) {
  ProbePlan plan;
  plan.latency_rounds = reader.get<std::int32_t>();
  plan.bandwidth_reps = reader.get<std::int32_t>();
  const auto sizes = reader.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < sizes; ++i)
    plan.bandwidth_sizes.push_back(reader.get<std::int64_t>());
  return plan;
}

RankConfig decode_rank_config(ByteReader& reader) {
  RankConfig config;
  config.backend = reader.get_string();
  config.options.workers = reader.get<std::int32_t>();
  config.options.device = reader.get_string();
  config.options.kernel = reader.get_string();
  return config;
}

RankReply decode_rank_reply(ByteReader& reader) {
  RankReply reply;
  reply.ok = reader.get<std::uint8_t>() != 0;
  reply.error = reader.get_string();
  reply.host = reader.get_string();
  reply.pid = reader.get<std::int64_t>();
  reply.node = get_node_info(reader);
  return reply;
}

TileOrder decode_tile_order(ByteReader& reader) {
  TileOrder order;
  order.slot = reader.get<std::int32_t>();
  order.tile = reader.get<Tile>();
  return order;
}

KernelQuery decode_kernel_query(ByteReader& reader) {
  KernelQuery query;
  query.name = reader.get_string();
  query.dims = reader.get<std::int32_t>();
  query.signature = reader.get_string();
  query.config = decode_rank_config(reader);
  return query;
}

LaunchMessage decode_launch_message(ByteReader& reader) {
  LaunchMessage message;
  message.kernel = decode_kernel_query(reader);
  message.width = reader.get<std::int64_t>();
  message.height = reader.get<std::int64_t>();
  const auto count = reader.get<std::uint32_t>();
  message.arguments.resize(count);
  message.arrays.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    backend::ArgumentBinding& argument = message.arguments[i];
    argument.is_array = reader.get<std::uint8_t>() != 0;
    if (!argument.is_array) {
      argument.scalar_bytes = reader.get<std::uint32_t>();
      if (argument.scalar_bytes > argument.scalar.size()) {
        throw Error("mpi: a kernel's scalar argument is larger than any kernel takes");
      }
      reader.get_bytes(argument.scalar.data(), argument.scalar_bytes);
      continue;
    }
    argument.access = reader.get<Access>();
    argument.element_bytes = reader.get<std::uint64_t>();
    argument.width = reader.get<std::int64_t>();
    argument.height = reader.get<std::int64_t>();
    argument.pitch = reader.get<std::int64_t>();
    argument.halo = reader.get<std::int64_t>();
    argument.chunk = reader.get<std::int64_t>();
    std::vector<std::byte>& array = message.arrays[i];
    array.resize(argument.bytes());
    argument.data = array.data();
    if (argument.access == Access::read_whole) reader.get_bytes(array.data(), array.size());
  }
  return message;
}

std::size_t slice_bytes(std::span<const backend::ArgumentBinding> arguments,
                        const backend::TileRange& tile, AccessFilter selected) {
  std::size_t total = 0;
  for (const backend::ArgumentBinding& argument : arguments) {
    if (!argument.is_array || !selected(argument.access)) continue;
    for_each_row(argument, tile, [&](std::size_t, std::size_t bytes) { total += bytes; });
  }
  return total;
}

std::size_t halo_bytes(std::span<const backend::ArgumentBinding> arguments,
                       const backend::TileRange& tile, AccessFilter selected) {
  std::size_t total = 0;
  for (const backend::ArgumentBinding& argument : arguments) {
    if (!argument.is_array || !selected(argument.access) || argument.halo <= 0) continue;
    backend::ArgumentBinding own = argument;
    own.halo = 0;
    for_each_row(argument, tile, [&](std::size_t, std::size_t bytes) { total += bytes; });
    for_each_row(own, tile, [&](std::size_t, std::size_t bytes) { total -= bytes; });
  }
  return total;
}

void pack_slices(std::span<const backend::ArgumentBinding> arguments,
                 const backend::TileRange& tile, AccessFilter selected,
                 std::vector<std::uint8_t>& bytes) {
  for (const backend::ArgumentBinding& argument : arguments) {
    if (!argument.is_array || !selected(argument.access)) continue;
    const auto* array = static_cast<const std::uint8_t*>(argument.data);
    for_each_row(argument, tile, [&](std::size_t offset, std::size_t size) {
      bytes.insert(bytes.end(), array + offset, array + offset + size);
    });
  }
}

void unpack_slices(std::span<const backend::ArgumentBinding> arguments,
                   const backend::TileRange& tile, AccessFilter selected, ByteReader& reader) {
  for (const backend::ArgumentBinding& argument : arguments) {
    if (!argument.is_array || !selected(argument.access)) continue;
    auto* array = static_cast<std::uint8_t*>(argument.data);
    for_each_row(argument, tile, [&](std::size_t offset, std::size_t size) {
      reader.get_bytes(array + offset, size);
    });
  }
}

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace hetero::nodes::mpi

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

// Calls `row(offset, bytes)` for each of rows [begin, end) of an array shaped like `array`: in
// 1-D one row of those elements; in 2-D each row's first `width` elements.
template <class Row>
void for_each_row(const backend::ArgumentBinding& array, int dims, std::int64_t begin,
                  std::int64_t end, Row row) {
  const std::size_t element = array.element_bytes;
  if (dims == 1) {
    row(static_cast<std::size_t>(begin) * element, static_cast<std::size_t>(end - begin) * element);
    return;
  }
  for (std::int64_t y = begin; y < end; ++y) {
    row(static_cast<std::size_t>(y * array.pitch) * element,
        static_cast<std::size_t>(array.width) * element);
  }
}

// The same for the rows of the tile's reach in `argument`'s array.
template <class Row>
void for_each_row(const backend::ArgumentBinding& argument, const backend::TileRange& own,
                  Row row) {
  const backend::TileRange tile = backend::reach_of(argument, own);
  for_each_row(argument, tile.dims, tile.begin, tile.end, row);
}

void put_rows(ByteWriter& writer, const KeptRows& rows) {
  writer.put(rows.array);
  writer.put(rows.begin);
  writer.put(rows.end);
}

KeptRows get_rows(ByteReader& reader) {
  KeptRows rows;
  rows.array = reader.get<std::uint64_t>();
  rows.begin = reader.get<std::int64_t>();
  rows.end = reader.get<std::int64_t>();
  return rows;
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
  writer.put(static_cast<std::uint32_t>(order.deliveries.size()));
  for (const RowsDelivery& delivery : order.deliveries) {
    writer.put(delivery.argument).put(delivery.begin).put(delivery.end).put(delivery.from);
  }
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
  writer.put(static_cast<std::uint32_t>(message.dropped.size()));
  for (const std::uint64_t id : message.dropped) writer.put(id);
  writer.put(static_cast<std::uint32_t>(message.arguments.size()));
  for (std::size_t i = 0; i < message.arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = message.arguments[i];
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
    const std::uint64_t id = i < message.array_ids.size() ? message.array_ids[i] : 0;
    writer.put(id);
    if (id == 0 && argument.access == Access::read_whole) {
      writer.put_bytes(argument.data, argument.bytes());
    }
  }
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(const FetchRequest& request) {
  ByteWriter writer = command(Command::fetch);
  put_rows(writer, request.rows);
  writer.put(request.tag);
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(const PeerSend& send) {
  ByteWriter writer = command(Command::send_rows);
  put_rows(writer, send.rows);
  writer.put(send.to);
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode_drop(std::span<const std::uint64_t> arrays) {
  ByteWriter writer = command(Command::drop_arrays);
  writer.put(static_cast<std::uint32_t>(arrays.size()));
  for (const std::uint64_t id : arrays) writer.put(id);
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
  const auto deliveries = reader.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < deliveries; ++i) {
    RowsDelivery& delivery = order.deliveries.emplace_back();
    delivery.argument = reader.get<std::uint32_t>();
    delivery.begin = reader.get<std::int64_t>();
    delivery.end = reader.get<std::int64_t>();
    delivery.from = reader.get<std::int32_t>();
  }
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
  message.dropped = decode_drop(reader);
  const auto count = reader.get<std::uint32_t>();
  message.arguments.resize(count);
  message.array_ids.resize(count, 0);
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
    message.array_ids[i] = reader.get<std::uint64_t>();
    if (message.array_ids[i] != 0) continue;  // the rank binds its kept copy
    std::vector<std::byte>& array = message.arrays[i];
    array.resize(argument.bytes());
    argument.data = array.data();
    if (argument.access == Access::read_whole) reader.get_bytes(array.data(), array.size());
  }
  return message;
}

FetchRequest decode_fetch_request(ByteReader& reader) {
  FetchRequest request;
  request.rows = get_rows(reader);
  request.tag = reader.get<std::int32_t>();
  return request;
}

PeerSend decode_peer_send(ByteReader& reader) {
  PeerSend send;
  send.rows = get_rows(reader);
  send.to = reader.get<std::int32_t>();
  return send;
}

std::vector<std::uint64_t> decode_drop(ByteReader& reader) {
  const auto count = reader.get<std::uint32_t>();
  std::vector<std::uint64_t> arrays;
  for (std::uint32_t i = 0; i < count; ++i) arrays.push_back(reader.get<std::uint64_t>());
  return arrays;
}

std::size_t rows_bytes(const backend::ArgumentBinding& array, int dims, std::int64_t begin,
                       std::int64_t end) {
  std::size_t total = 0;
  for_each_row(array, dims, begin, end, [&](std::size_t, std::size_t bytes) { total += bytes; });
  return total;
}

void pack_rows(const backend::ArgumentBinding& array, int dims, std::int64_t begin,
               std::int64_t end, std::vector<std::uint8_t>& bytes) {
  const auto* base = static_cast<const std::uint8_t*>(array.data);
  for_each_row(array, dims, begin, end, [&](std::size_t offset, std::size_t size) {
    bytes.insert(bytes.end(), base + offset, base + offset + size);
  });
}

void unpack_rows(const backend::ArgumentBinding& array, int dims, std::int64_t begin,
                 std::int64_t end, ByteReader& reader) {
  auto* base = static_cast<std::uint8_t*>(array.data);
  for_each_row(array, dims, begin, end, [&](std::size_t offset, std::size_t size) {
    reader.get_bytes(base + offset, size);
  });
}

std::vector<bool> travelling(std::span<const backend::ArgumentBinding> arguments,
                             std::span<const std::uint64_t> array_ids, AccessFilter selected) {
  std::vector<bool> travels(arguments.size(), false);
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const bool kept = i < array_ids.size() && array_ids[i] != 0;
    travels[i] = arguments[i].is_array && !kept && selected(arguments[i].access);
  }
  return travels;
}

std::size_t slice_bytes(std::span<const backend::ArgumentBinding> arguments,
                        const backend::TileRange& tile, const std::vector<bool>& travelling) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = arguments[i];
    if (!travelling[i]) continue;
    for_each_row(argument, tile, [&](std::size_t, std::size_t bytes) { total += bytes; });
  }
  return total;
}

std::size_t halo_bytes(std::span<const backend::ArgumentBinding> arguments,
                       const backend::TileRange& tile, const std::vector<bool>& travelling) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = arguments[i];
    if (!travelling[i] || argument.halo <= 0) continue;
    backend::ArgumentBinding own = argument;
    own.halo = 0;
    for_each_row(argument, tile, [&](std::size_t, std::size_t bytes) { total += bytes; });
    for_each_row(own, tile, [&](std::size_t, std::size_t bytes) { total -= bytes; });
  }
  return total;
}

void pack_slices(std::span<const backend::ArgumentBinding> arguments,
                 const backend::TileRange& tile, const std::vector<bool>& travelling,
                 std::vector<std::uint8_t>& bytes) {
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = arguments[i];
    if (!travelling[i]) continue;
    const auto* array = static_cast<const std::uint8_t*>(argument.data);
    for_each_row(argument, tile, [&](std::size_t offset, std::size_t size) {
      bytes.insert(bytes.end(), array + offset, array + offset + size);
    });
  }
}

void unpack_slices(std::span<const backend::ArgumentBinding> arguments,
                   const backend::TileRange& tile, const std::vector<bool>& travelling,
                   ByteReader& reader) {
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const backend::ArgumentBinding& argument = arguments[i];
    if (!travelling[i]) continue;
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

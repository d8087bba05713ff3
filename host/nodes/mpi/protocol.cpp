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

std::vector<std::uint8_t> encode(const JobMessage& message) {
  ByteWriter writer = command(Command::job);
  const JobSpec& spec = message.spec;
  writer.put_string(spec.preset);
  writer.put(spec.region);
  writer.put(spec.rule);
  writer.put(spec.width);
  writer.put(spec.height);
  writer.put(spec.max_iter);
  writer.put(spec.precision);
  writer.put(spec.mode);
  put_options(writer, message.config);
  writer.put(message.axes_hash);
  return std::move(writer.bytes());
}

std::vector<std::uint8_t> encode(const TileOrder& order) {
  ByteWriter writer = command(Command::tile);
  writer.put(order.slot);
  writer.put(order.tile);
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

JobMessage decode_job_message(ByteReader& reader) {
  JobMessage message;
  JobSpec& spec = message.spec;
  spec.preset = reader.get_string();
  spec.region = reader.get<Region>();
  spec.rule = reader.get<AxisRule>();
  spec.width = reader.get<std::int64_t>();
  spec.height = reader.get<std::int64_t>();
  spec.max_iter = reader.get<std::uint32_t>();
  spec.precision = reader.get<Precision>();
  spec.mode = reader.get<Mode>();
  message.config = decode_rank_config(reader);
  message.axes_hash = reader.get<std::uint64_t>();
  return message;
}

TileOrder decode_tile_order(ByteReader& reader) {
  TileOrder order;
  order.slot = reader.get<std::int32_t>();
  order.tile = reader.get<Tile>();
  return order;
}

std::uint64_t axes_hash(const Job& job) {
  constexpr std::uint64_t kOffset = 0xcbf29ce484222325ULL;
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t hash = kOffset;
  for (const std::vector<double>* axis : {&job.xs(), &job.ys()}) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(axis->data());
    for (std::size_t i = 0; i < axis->size() * sizeof(double); ++i) {
      hash ^= bytes[i];
      hash *= kPrime;
    }
  }
  return hash;
}

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace hetero::nodes::mpi

// The mpi node on rank 0: sends each rank the run (the job, or a user's kernel) and its tiles,
// and receives their results in place.
#include "node.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <exception>
#include <optional>

#include <fmt/format.h>

#include "hetero/backend/launch.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"

namespace hetero::nodes {
namespace {

using mpi::ResultHeader;

// Rank 0 sleeps between polls for at most an eighth of a typical tile's compute time, within
// these bounds: a rank has more tiles queued, so its result may wait that long without idling
// it, and rank 0 takes little CPU from the ranks when they share its cores.
constexpr int kPollMinUs = 50;
constexpr int kPollMaxUs = 1000;
constexpr double kTileTimeSmoothing = 0.2;
// A rank keeps one tile queued beyond its local workers, two while tiles compute faster than
// this: enough to hide a round trip, and few committed tiles at the end of the queue.
constexpr double kShortTileUs = 2000;
constexpr double kJobSendTimeoutS = 30;
// Per slot: the tile order sent, the result header received, the counts received.
constexpr int kRequestsPerSlot = 3;
// Ranks described one by one in NodeInfo::device; more are summarised.
constexpr std::size_t kRanksDescribed = 8;

std::string link_summary(const mpi::RankLink& link) {
  return fmt::format("{:.1f} us, {:.1f}/{:.1f} GB/s to/from, clock {:+.1f} us",
                     link.latency_s * 1e6, link.to_rank_bytes_per_s * 1e-9,
                     link.from_rank_bytes_per_s * 1e-9,
                     static_cast<double>(link.clock_offset_ns) * 1e-3);
}

std::string hosts_of(const std::vector<mpi::RankLink>& links) {
  std::vector<std::string> hosts;
  for (const mpi::RankLink& link : links) {
    if (std::find(hosts.begin(), hosts.end(), link.host) == hosts.end()) hosts.push_back(link.host);
  }
  std::string text;
  for (std::size_t i = 0; i < hosts.size(); ++i) text += (i == 0 ? "" : ", ") + hosts[i];
  return text;
}

NodeInfo base_info() {
  NodeInfo info;
  info.name = "mpi";
  info.kind = NodeKind::remote;
  info.resource = "mpi-ranks";
  return info;
}

}  // namespace

// A kernel run's traffic: what the ranks get at the start and with each tile beyond its order,
// and where a tile's results land. Plain arrays travel as slices with every tile (the slices it
// reads in its order, those it writes with its results). Registered arrays stay on the ranks:
// a tile gets only the rows its rank lacks, from another rank that holds them, or from the host
// when no rank does, and its results stay where they were computed.
class TileTraffic {
 public:
  TileTraffic(const backend::Launch& launch, const mpi::RankConfig& config, mpi::RankStore& store)
      : launch_(launch), config_(config), store_(store) {
    for (const backend::ArgumentBinding& argument : launch.arguments) {
      mpi::RankReplica* replica = argument.array ? &store.replica_of(*argument.array) : nullptr;
      replicas_.push_back(replica);
      ids_.push_back(replica != nullptr ? replica->id() : 0);
    }
    reads_ = mpi::travelling(launch.arguments, ids_, backend::reads_slice);
    writes_ = mpi::travelling(launch.arguments, ids_, backend::writes_slice);
  }
  /// The command that starts the run on every rank; it also tells them which kept arrays to
  /// forget.
  std::vector<std::uint8_t> start_message() const {
    mpi::LaunchMessage message;
    message.kernel = query(*launch_.kernel, config_);
    message.width = launch_.width;
    message.height = launch_.height;
    message.arguments = launch_.arguments;
    message.array_ids = ids_;
    message.dropped = store_.take_forgotten();
    return mpi::encode(message);
  }
  /// The bytes of the start message that are array data: plain arrays read whole.
  std::size_t start_data_bytes() const {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < launch_.arguments.size(); ++i) {
      const backend::ArgumentBinding& argument = launch_.arguments[i];
      if (argument.is_array && ids_[i] == 0 && argument.access == Access::read_whole) {
        bytes += argument.bytes();
      }
    }
    return bytes;
  }
  /// Names in the trace.
  const char* start_label() const { return "kernel"; }
  const char* results_label() const { return "results"; }

  /// Rows of a kept array that reach a rank from another rank.
  struct PeerCopy {
    int from = 0;
    std::size_t bytes = 0;
    TransferCause cause = TransferCause::read_miss;
    std::string label;
  };
  /// What a tile's rank gets before it computes: the order (with its plain slices and the kept
  /// rows from the host), the commands that make other ranks send it the rest (each to its
  /// sender, sent before the order), and how many of the order's bytes are halo rows.
  struct TileInputs {
    std::vector<std::uint8_t> order;
    std::vector<std::pair<int, std::vector<std::uint8_t>>> peer_commands;
    std::vector<PeerCopy> peer_copies;
    std::size_t data_bytes = 0;  ///< of the order: array data (the rest is control)
    std::size_t halo_bytes = 0;  ///< of those: halo rows
  };
  TileInputs inputs(const Tile& tile, int slot, int rank, TraceLane& lane) {
    TileInputs inputs;
    const backend::TileRange range = launch_.range(tile);
    mpi::TileOrder order{slot, tile, {}};
    std::vector<std::uint8_t> kept_rows;
    for (std::size_t i = 0; i < launch_.arguments.size(); ++i) {
      if (replicas_[i] != nullptr) add_kept_rows(i, range, rank, order, kept_rows, inputs, lane);
    }
    inputs.order = mpi::encode(order);
    const std::size_t header = inputs.order.size();
    mpi::pack_slices(launch_.arguments, range, reads_, inputs.order);
    inputs.order.insert(inputs.order.end(), kept_rows.begin(), kept_rows.end());
    inputs.data_bytes = inputs.order.size() - header;
    inputs.halo_bytes += mpi::halo_bytes(launch_.arguments, range, reads_);
    return inputs;
  }
  std::size_t result_bytes(const Tile& tile) const {
    return mpi::slice_bytes(launch_.arguments, launch_.range(tile), writes_);
  }
  /// Where the tile's results are received: `staging`, sized here.
  std::uint8_t* result_target(const Tile& tile, std::vector<std::uint8_t>& staging) {
    staging.resize(result_bytes(tile));
    return staging.data();
  }
  /// Puts plain results received in `staging` in place; the kept arrays' written blocks are now
  /// valid on `rank` alone (and go back to the host at once under WriteBack::after_each_run).
  void accept(const Tile& tile, int rank, const std::vector<std::uint8_t>& staging,
              TraceLane& lane) {
    const backend::TileRange range = launch_.range(tile);
    mpi::ByteReader reader(staging);
    mpi::unpack_slices(launch_.arguments, range, writes_, reader);
    for (std::size_t i = 0; i < launch_.arguments.size(); ++i) {
      const backend::ArgumentBinding& argument = launch_.arguments[i];
      const backend::BlockRun written = backend::blocks_written(argument, range);
      if (replicas_[i] == nullptr || written.empty()) continue;
      replicas_[i]->make_only(rank, written);
      argument.array->mark_written(store_.space(), written);
      if (argument.array->policy() == WriteBack::after_each_run) {
        argument.array->make_host_valid(written, &lane);
      }
    }
  }

  static mpi::KernelQuery query(const backend::KernelDefinition& kernel,
                                const mpi::RankConfig& config) {
    return {kernel.name, kernel.dims, kernel.signature, config};
  }

 private:
  // Where one block a tile reads comes from: nowhere (the rank holds it), the host (0), or a
  // rank holding it.
  static constexpr int kHeld = -1;

  // The deliveries of the blocks argument `index` needs on `rank` for `range`: adjacent blocks
  // with the same source and cause (own rows or halo) go together.
  void add_kept_rows(std::size_t index, const backend::TileRange& range, int rank,
                     mpi::TileOrder& order, std::vector<std::uint8_t>& kept_rows,
                     TileInputs& inputs, TraceLane& lane) {
    const backend::ArgumentBinding& argument = launch_.arguments[index];
    backend::ArrayRecord& array = *argument.array;
    mpi::RankReplica& replica = *replicas_[index];
    const backend::TileRange own = backend::own_range(argument, range);
    const backend::BlockRun own_blocks = array.blocks_of(own.begin, own.end);
    auto cause_of = [&](std::int64_t block) {
      const bool inside = block >= own_blocks.first && block < own_blocks.end();
      return argument.access == Access::read_whole || inside ? TransferCause::read_miss
                                                             : TransferCause::halo;
    };
    for (const backend::BlockRun run : backend::blocks_to_read(argument, range)) {
      const std::vector<backend::BlockRun> stale = array.claim_for_read(store_.space(), run, &lane);
      auto source_of = [&](std::int64_t block) {
        for (const backend::BlockRun& s : stale) {
          if (block >= s.first && block < s.end()) return 0;
        }
        return replica.holds(rank, block) ? kHeld : replica.holder(block);
      };
      std::int64_t b = run.first;
      while (b < run.end()) {
        const int source = source_of(b);
        const TransferCause cause = cause_of(b);
        backend::BlockRun group{b, 1};
        while (group.end() < run.end() && source_of(group.end()) == source &&
               cause_of(group.end()) == cause) {
          ++group.count;
        }
        b = group.end();
        if (source == kHeld) continue;
        deliver(index, group, source, rank, cause, order, kept_rows, inputs);
      }
    }
  }

  void deliver(std::size_t index, backend::BlockRun blocks, int source, int rank,
               TransferCause cause, mpi::TileOrder& order, std::vector<std::uint8_t>& kept_rows,
               TileInputs& inputs) {
    const backend::ArgumentBinding& argument = launch_.arguments[index];
    backend::ArrayRecord& array = *argument.array;
    mpi::RankReplica& replica = *replicas_[index];
    const auto [begin, end] = array.extent_of(blocks);
    order.deliveries.push_back({static_cast<std::uint32_t>(index), begin, end, source});
    const backend::ArgumentBinding host = mpi::host_shape(array);
    const std::size_t bytes = mpi::rows_bytes(host, launch_.dims(), begin, end);
    if (source == 0) {
      replica.make_only(rank, blocks);
      mpi::pack_rows(host, launch_.dims(), begin, end, kept_rows);
      if (cause == TransferCause::halo) inputs.halo_bytes += bytes;
      array.count(EventKind::copy_to_device, cause, bytes);
      return;
    }
    replica.add(rank, blocks);
    inputs.peer_commands.emplace_back(source,
                                      mpi::encode(mpi::PeerSend{{replica.id(), begin, end}, rank}));
    inputs.peer_copies.push_back(
        {source, bytes, cause,
         fmt::format("{} rows {}-{} from rank {}", array.label(), begin, end - 1, source)});
  }

  const backend::Launch& launch_;
  const mpi::RankConfig& config_;
  mpi::RankStore& store_;
  std::vector<mpi::RankReplica*> replicas_;  // per argument; null for plain arrays
  std::vector<std::uint64_t> ids_;           // per argument; 0 for plain arrays
  std::vector<bool> reads_, writes_;         // plain arrays' slices that travel
};

namespace {

// One result slot of one rank: a tile in flight and the buffers its messages use. Slots never
// move while their requests are pending.
struct Slot {
  int lane = 0;  // remote rank - 1
  int index = 0;
  bool busy = false;
  int pending = 0;
  Tile tile;
  std::vector<std::uint8_t> order;
  std::size_t data = 0, halo = 0;  // of the order's bytes: array data; of those, halo rows
  std::vector<TileTraffic::PeerCopy> peer_copies;  // rows other ranks send the tile
  std::vector<std::uint8_t> staging;               // results that do not go straight into place
  ResultHeader header;
  std::int64_t sent_ns = 0, order_done_ns = 0, received_ns = 0;  // trace clock
};

// Which tile a rank gets next: the shared queue under self-scheduling policies, else the
// rank's contiguous block of the node's assigned tiles.
class TileFeed {
 public:
  TileFeed(WorkSource& work, int lanes) : work_(work), assigned_(work.assigned()) {
    for (int lane = 0; lane < lanes; ++lane) {
      blocks_.push_back(lane_block(assigned_.size(), lane, lanes));
    }
  }
  std::optional<Tile> next(int lane) {
    if (work_.stop_requested()) return std::nullopt;
    if (work_.self_scheduling()) return work_.next();
    auto& [cursor, last] = blocks_[static_cast<std::size_t>(lane)];
    if (cursor >= last) return std::nullopt;
    return assigned_[cursor++];
  }

 private:
  static std::pair<std::size_t, std::size_t> lane_block(std::size_t count, int lane, int lanes) {
    const auto l = static_cast<std::size_t>(lane);
    const auto n = static_cast<std::size_t>(lanes);
    return {count * l / n, count * (l + 1) / n};
  }
  WorkSource& work_;
  std::span<const Tile> assigned_;
  std::vector<std::pair<std::size_t, std::size_t>> blocks_;
};

// One run of the node: the message loop of rank 0 for one job or kernel launch.
class RankDriver {
 public:
  RankDriver(mpi::Runtime& runtime, const std::vector<mpi::RankLink>& links,
             const std::vector<int>& concurrency, WorkSource& work, TileTraffic& traffic,
             NodeTrace& trace)
      : runtime_(runtime),
        links_(links),
        work_(work),
        traffic_(traffic),
        trace_(trace),
        feed_(work, static_cast<int>(links.size())),
        lanes_(static_cast<int>(links.size())),
        last_heard_ns_(links.size(), 0),
        concurrency_(concurrency),
        in_flight_(links.size(), 0),
        control_(links.size()) {
    for (int lane = 0; lane < lanes_; ++lane) {
      const int slots = std::min(concurrency[static_cast<std::size_t>(lane)] + 2, mpi::kMaxSlots);
      first_slot_.push_back(slots_.size());
      for (int k = 0; k < slots; ++k) {
        Slot slot;
        slot.lane = lane;
        slot.index = k;
        slots_.push_back(std::move(slot));
      }
    }
    first_slot_.push_back(slots_.size());
    control_base_ = slots_.size() * kRequestsPerSlot;
    requests_.assign(control_base_ + links.size(), MPI_REQUEST_NULL);
    indices_.resize(requests_.size());
    // The trace clock's origin on this process's steady clock.
    origin_steady_ns_ = mpi::steady_now_ns() - trace.now_ns();
  }

  void run() {
    send_start();
    for (int lane = 0; lane < lanes_; ++lane) {
      post_control(lane);
      last_heard_ns_[static_cast<std::size_t>(lane)] = trace_.now_ns();
    }
    // One tile per rank at a time, so that every rank has a tile before any gets its second.
    for (int round = 0; round < mpi::kMaxSlots; ++round) {
      for (int lane = 0; lane < lanes_; ++lane) refill(lane, 1);
    }
    while (active_ > 0) {
      int completed = 0;
      {
        auto guard = runtime_.lock();
        MPI_Testsome(static_cast<int>(requests_.size()), requests_.data(), &completed,
                     indices_.data(), MPI_STATUSES_IGNORE);
      }
      if (completed == MPI_UNDEFINED || completed == 0) {
        check_silence();
        backoff_.pause();
        continue;
      }
      backoff_.reset();
      for (int i = 0; i < completed; ++i) on_request_done(static_cast<std::size_t>(indices_[i]));
    }
    for (int lane = 0; lane < lanes_; ++lane) cancel_control(lane);
    const std::vector<std::uint8_t> end = mpi::encode(mpi::Command::end_job);
    auto guard = runtime_.lock();
    for (int lane = 0; lane < lanes_; ++lane) {
      mpi::send_bytes(end, lane + 1, mpi::kCommandTag, kJobSendTimeoutS, "ending the job");
    }
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  void send_start() {
    const std::vector<std::uint8_t> message = traffic_.start_message();
    if (message.size() > INT_MAX) {
      throw UsageError(fmt::format(
          "mpi: the arrays a kernel reads whole take {} bytes, more than one MPI message carries "
          "({}); read them as slices, or run the kernel on other nodes",
          message.size(), INT_MAX));
    }
    const std::string what = fmt::format("sending the {}", traffic_.start_label());
    auto guard = runtime_.lock();
    for (int lane = 0; lane < lanes_; ++lane) {
      const std::int64_t begin = trace_.now_ns();
      mpi::send_bytes(message, lane + 1, mpi::kCommandTag, kJobSendTimeoutS, what);
      const std::int64_t end = trace_.now_ns();
      TraceLane& trace = trace_.lane(lane);
      const std::size_t data = traffic_.start_data_bytes();
      trace.copy(EventKind::copy_to_device, TransferCause::control, traffic_.start_label(),
                 message.size() - data, begin, end);
      if (data > 0) trace.copy(EventKind::copy_to_device, "arrays read whole", data, end, end);
    }
  }

  void post_control(int lane) {
    auto guard = runtime_.lock();
    MPI_Irecv(control_[static_cast<std::size_t>(lane)].data(), mpi::kControlBytes, MPI_BYTE,
              lane + 1, mpi::kControlTag, MPI_COMM_WORLD,
              &requests_[control_base_ + static_cast<std::size_t>(lane)]);
  }

  void cancel_control(int lane) {
    MPI_Request& request = requests_[control_base_ + static_cast<std::size_t>(lane)];
    if (request == MPI_REQUEST_NULL) return;
    auto guard = runtime_.lock();
    MPI_Cancel(&request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
  }

  // Tiles a rank may have in flight now.
  int allowed_in_flight(int lane) const {
    const bool short_tiles = typical_tile_us_ > 0 && typical_tile_us_ < kShortTileUs;
    return concurrency_[static_cast<std::size_t>(lane)] + (short_tiles ? 2 : 1);
  }

  // Starts up to `most` of the rank's idle slots while it has fewer tiles than allowed.
  void refill(int lane, int most) {
    const auto l = static_cast<std::size_t>(lane);
    for (std::size_t i = first_slot_[l]; i < first_slot_[l + 1]; ++i) {
      if (most == 0 || in_flight_[l] >= allowed_in_flight(lane)) return;
      if (slots_[i].busy) continue;
      if (!start(slots_[i])) return;
      --most;
    }
  }

  // Gives `slot` the rank's next tile, if any: posts the receives of its result, then sends it.
  // Returns false when there is no tile for it.
  bool start(Slot& slot) {
    if (failure_) return false;
    const std::optional<Tile> tile = feed_.next(slot.lane);
    if (!tile) return false;
    const int rank = slot.lane + 1;
    TileTraffic::TileInputs inputs =
        traffic_.inputs(*tile, slot.index, rank, trace_.lane(slot.lane));
    slot.order = std::move(inputs.order);
    slot.data = inputs.data_bytes;
    slot.halo = inputs.halo_bytes;
    slot.peer_copies = std::move(inputs.peer_copies);
    const std::size_t result_bytes = traffic_.result_bytes(*tile);
    if (std::max(slot.order.size(), result_bytes) > INT_MAX) {
      failure_ = std::make_exception_ptr(Error(fmt::format(
          "mpi: tile {} moves {} bytes, more than one MPI message carries ({}): use smaller tiles",
          tile->index, std::max(slot.order.size(), result_bytes), INT_MAX)));
      return false;
    }
    const std::size_t base = slot_number(slot) * kRequestsPerSlot;
    slot.tile = *tile;
    slot.header = ResultHeader{};
    auto guard = runtime_.lock();
    // The senders of rows get their commands first: a rank waits for rows only from a rank
    // that was asked to send them before it was sent the tile.
    for (const auto& [sender, command] : inputs.peer_commands) {
      mpi::send_bytes(command, sender, mpi::kCommandTag, kJobSendTimeoutS,
                      "asking a rank to send rows to another");
    }
    MPI_Irecv(&slot.header, sizeof(ResultHeader), MPI_BYTE, rank, mpi::kResultTag + 2 * slot.index,
              MPI_COMM_WORLD, &requests_[base + 1]);
    MPI_Irecv(traffic_.result_target(*tile, slot.staging), static_cast<int>(result_bytes), MPI_BYTE,
              rank, mpi::kResultTag + 2 * slot.index + 1, MPI_COMM_WORLD, &requests_[base + 2]);
    slot.sent_ns = trace_.now_ns();
    slot.order_done_ns = slot.received_ns = slot.sent_ns;
    MPI_Isend(slot.order.data(), static_cast<int>(slot.order.size()), MPI_BYTE, rank,
              mpi::kCommandTag, MPI_COMM_WORLD, &requests_[base]);
    slot.pending = kRequestsPerSlot;
    // A small order usually leaves at once: its copy event then ends now, not at the next poll.
    int sent = 0;
    MPI_Test(&requests_[base], &sent, MPI_STATUS_IGNORE);
    if (sent != 0) {
      slot.order_done_ns = trace_.now_ns();
      --slot.pending;
    }
    slot.busy = true;
    ++active_;
    ++in_flight_[static_cast<std::size_t>(slot.lane)];
    return true;
  }

  std::size_t slot_number(const Slot& slot) const {
    return static_cast<std::size_t>(&slot - slots_.data());
  }

  void on_request_done(std::size_t request) {
    const std::int64_t now = trace_.now_ns();
    if (request >= control_base_) {
      const auto lane = static_cast<int>(request - control_base_);
      last_heard_ns_[static_cast<std::size_t>(lane)] = now;
      on_control(lane);
      post_control(lane);
      return;
    }
    Slot& slot = slots_[request / kRequestsPerSlot];
    last_heard_ns_[static_cast<std::size_t>(slot.lane)] = now;
    if (request % kRequestsPerSlot == 0) {
      slot.order_done_ns = now;
    } else {
      slot.received_ns = now;
    }
    if (--slot.pending == 0) finish(slot);
  }

  void on_control(int lane) {
    const auto& message = control_[static_cast<std::size_t>(lane)];
    if (static_cast<mpi::Control>(message[0]) != mpi::Control::error) return;  // a heartbeat
    const auto* text = reinterpret_cast<const char*>(message.data() + 1);
    const std::string error(text, strnlen(text, message.size() - 1));
    runtime_.abort_all(fmt::format("rank {} on {} failed: {}", lane + 1, host(lane), error));
  }

  // A slot's three messages are done: trace the tile on the rank's lane, hand it in, refill.
  void finish(Slot& slot) {
    const mpi::RankLink& link = links_[static_cast<std::size_t>(slot.lane)];
    const ResultHeader& header = slot.header;
    if (header.tile != slot.tile.index) {
      runtime_.abort_all(fmt::format("rank {} returned tile {} in the slot of tile {}",
                                     slot.lane + 1, header.tile, slot.tile.index));
    }
    // The rank's clock mapped onto the trace clock, kept inside what rank 0 saw.
    auto on_trace = [&](std::int64_t rank_ns, std::int64_t low, std::int64_t high) {
      return std::clamp(rank_ns - link.clock_offset_ns - origin_steady_ns_, low, high);
    };
    const std::int64_t begin = on_trace(header.compute_begin_ns, slot.sent_ns, slot.received_ns);
    const std::int64_t end = on_trace(header.compute_end_ns, begin, slot.received_ns);
    const std::int64_t sent_back = on_trace(header.send_ns, end, slot.received_ns);
    const double compute_us = static_cast<double>(end - begin) * 1e-3;
    typical_tile_us_ = typical_tile_us_ == 0 ? compute_us
                                             : (1 - kTileTimeSmoothing) * typical_tile_us_ +
                                                   kTileTimeSmoothing * compute_us;
    backoff_.set_max_us(std::clamp(static_cast<int>(typical_tile_us_ / 8), kPollMinUs, kPollMaxUs));
    TraceLane& lane = trace_.lane(slot.lane);
    // The order is one message; its halo rows are counted apart, their time within the order's,
    // as is the time of the rows other ranks send (rank 0 does not see those copies).
    lane.copy(EventKind::copy_to_device, TransferCause::control, "tile order",
              slot.order.size() - slot.data, slot.sent_ns, slot.order_done_ns, slot.tile.index);
    if (slot.data > slot.halo) {
      lane.copy(EventKind::copy_to_device, "tile", slot.data - slot.halo, slot.order_done_ns,
                slot.order_done_ns, slot.tile.index);
    }
    if (slot.halo > 0) {
      lane.copy(EventKind::copy_to_device, TransferCause::halo, "tile halo", slot.halo,
                slot.order_done_ns, slot.order_done_ns, slot.tile.index);
    }
    for (const TileTraffic::PeerCopy& copy : slot.peer_copies) {
      lane.copy(EventKind::copy_peer, copy.cause, copy.label, copy.bytes, slot.sent_ns,
                slot.order_done_ns, slot.tile.index);
    }
    lane.compute(slot.tile, begin, end, header.work);
    lane.copy(EventKind::copy_to_host, TransferCause::control, "result header",
              sizeof(ResultHeader), sent_back, slot.received_ns, slot.tile.index);
    if (const std::size_t results = traffic_.result_bytes(slot.tile); results > 0) {
      lane.copy(EventKind::copy_to_host, traffic_.results_label(), results, slot.received_ns,
                slot.received_ns, slot.tile.index);
    }
    traffic_.accept(slot.tile, slot.lane + 1, slot.staging, lane);
    slot.busy = false;
    --active_;
    --in_flight_[static_cast<std::size_t>(slot.lane)];
    if (!failure_) {
      try {
        work_.completed(slot.tile);
      } catch (...) {
        // Stop handing out tiles; what is in flight is drained, then the failure is rethrown.
        failure_ = std::current_exception();
      }
    }
    refill(slot.lane, mpi::kMaxSlots);
  }

  void check_silence() {
    const std::int64_t now = trace_.now_ns();
    const auto limit_ns = static_cast<std::int64_t>(runtime_.silence_timeout_s() * 1e9);
    for (int lane = 0; lane < lanes_; ++lane) {
      const int in_flight = in_flight_[static_cast<std::size_t>(lane)];
      if (in_flight == 0 || now - last_heard_ns_[static_cast<std::size_t>(lane)] < limit_ns) {
        continue;
      }
      runtime_.abort_all(fmt::format(
          "rank {} on {} (pid {}) sent nothing for {:.0f} s with {} tiles in flight: it died or "
          "hangs (HETERO_MPI_TIMEOUT_S sets the limit)",
          lane + 1, host(lane), links_[static_cast<std::size_t>(lane)].pid,
          runtime_.silence_timeout_s(), in_flight));
    }
  }

  const std::string& host(int lane) const { return links_[static_cast<std::size_t>(lane)].host; }

  mpi::Runtime& runtime_;
  const std::vector<mpi::RankLink>& links_;
  WorkSource& work_;
  TileTraffic& traffic_;
  NodeTrace& trace_;
  TileFeed feed_;
  int lanes_;
  std::vector<Slot> slots_;              // each rank's slots, rank by rank
  std::vector<std::size_t> first_slot_;  // where each rank's slots begin; one past the end last
  std::vector<MPI_Request> requests_;
  std::vector<int> indices_;
  std::size_t control_base_ = 0;
  std::vector<std::int64_t> last_heard_ns_;
  std::vector<int> concurrency_;  // each rank's local workers
  std::vector<int> in_flight_;    // busy slots per rank
  std::vector<std::array<std::uint8_t, mpi::kControlBytes>> control_;
  std::int64_t origin_steady_ns_ = 0;
  int active_ = 0;
  std::exception_ptr failure_;
  mpi::Backoff backoff_{kPollMinUs};
  double typical_tile_us_ = 0;  // moving average of the ranks' compute time per tile
};

}  // namespace

NodeInfo MpiNode::describe(const NodeOptions& options) {
  NodeInfo info = base_info();
  mpi::Runtime& runtime = mpi::Runtime::instance();
  info.reason = runtime.unavailable_reason();
  if (!info.reason.empty()) return info;
  const std::vector<mpi::RankLink> links = runtime.links();
  info.available = true;
  info.concurrency = static_cast<int>(links.size());
  info.link = mpi::summarise(links);
  // The device names no measured figure: it is the node's identity in the throughput model.
  info.device = fmt::format("{} ranks on {}, each computing with {}", links.size(), hosts_of(links),
                            runtime.rank_backend());
  if (options.workers > 0) info.device += fmt::format(" ({} workers)", options.workers);
  return info;
}

std::vector<NodeInfo> MpiNode::enumerate() {
  NodeInfo all = describe({});
  if (!all.available) return {all};
  std::vector<NodeInfo> infos;
  for (const mpi::RankLink& link : mpi::Runtime::instance().links()) {
    NodeInfo info = base_info();
    info.available = true;
    info.device = fmt::format("rank {} on {} (pid {}, {}): {}", link.rank, link.host, link.pid,
                              link.cpu, link_summary(link));
    info.link = mpi::summarise({link});
    infos.push_back(std::move(info));
  }
  return infos;
}

MpiNode::MpiNode(const NodeOptions& options)
    : runtime_(mpi::Runtime::instance()), info_(describe(options)) {
  if (!info_.available) {
    throw UsageError(fmt::format("backend 'mpi' is unavailable: {}", info_.reason));
  }
  store_ = std::make_shared<mpi::RankStore>(runtime_, info_.concurrency);
  config_.backend = runtime_.rank_backend();
  config_.options = options;
  if (config_.backend == "mpi") {
    throw UsageError(
        "--rank-backend mpi: a rank computes with a local backend (threads, simd, cuda, "
        "...), not with mpi");
  }
  links_ = runtime_.links();
  ranks_ = runtime_.configure(config_);
  bool alike = true;
  std::string ranks;
  for (std::size_t i = 0; i < ranks_.size(); ++i) {
    const NodeInfo& node = ranks_[i].node;
    concurrency_.push_back(std::clamp(node.concurrency, 1, mpi::kMaxSlots - 2));
    alike = alike && node.device == ranks_.front().node.device;
    if (i < kRanksDescribed) {
      ranks += fmt::format("{}rank {} {}", i == 0 ? "" : "; ", i + 1, node.device);
    }
  }
  if (ranks_.size() > kRanksDescribed) {
    ranks += fmt::format("; {} more", ranks_.size() - kRanksDescribed);
  }
  info_.device =
      fmt::format("{} ranks on {}, each computing with {}: {}", ranks_.size(), hosts_of(links_),
                  config_.backend, alike ? ranks_.front().node.device : ranks);
}

MpiNode::~MpiNode() {
  if (!store_) return;
  try {
    store_->release_all();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot report; data is lost
  }
}

bool MpiNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  const std::vector<mpi::RankReply> replies =
      runtime_.ask_every_rank(mpi::encode(TileTraffic::query(kernel, config_)));
  for (const mpi::RankReply& reply : replies) {
    if (reply.ok) continue;
    why = fmt::format("node 'mpi' cannot run kernel '{}': {}", kernel.name, reply.error);
    return false;
  }
  return true;
}

void MpiNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  TileTraffic traffic(launch, config_, *store_);
  drive(traffic, work, trace);
}

void MpiNode::drive(TileTraffic& traffic, WorkSource& work, NodeTrace& trace) {
  trace.reserve_lanes(static_cast<std::int32_t>(ranks_.size()));
  RankDriver driver(runtime_, links_, concurrency_, work, traffic, trace);
  driver.run();
}

void register_mpi(NodeRegistry& registry) {
  Backend backend;
  backend.name = "mpi";
  backend.kind = NodeKind::remote;
  backend.built = true;
  backend.describe = &MpiNode::describe;
  backend.create = [](const NodeOptions& options) { return std::make_unique<MpiNode>(options); };
  backend.enumerate = &MpiNode::enumerate;
  backend.probe = [](const NodeOptions&) {
    return mpi::summarise(mpi::Runtime::instance().links(/*remeasure=*/true));
  };
  registry.add(std::move(backend));
}

}  // namespace hetero::nodes

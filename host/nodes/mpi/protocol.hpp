// The messages rank 0 and the remote ranks exchange: tags, commands and their byte encoding.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "hetero/error.hpp"
#include "hetero/job.hpp"
#include "hetero/node.hpp"

namespace hetero::nodes::mpi {

// Tags. Rank 0 sends every command on kCommandTag; a rank answers a command that needs an answer
// on kReplyTag, reports heartbeats and errors during a job on kControlTag, and returns the
// result of the tile in its slot s on kResultTag + 2 s (header) and kResultTag + 2 s + 1
// (counts). The link probe's ping-pong uses kProbeTag in both directions.
inline constexpr int kCommandTag = 1;
inline constexpr int kReplyTag = 2;
inline constexpr int kControlTag = 3;
inline constexpr int kProbeTag = 4;
inline constexpr int kResultTag = 16;
/// Tiles a rank may have in flight at once (slots), whatever its local concurrency.
inline constexpr int kMaxSlots = 16;
/// Control messages are at most this long (a rank truncates its error text to fit).
inline constexpr int kControlBytes = 512;

/// What rank 0 asks of a remote rank; the first byte of every command message.
enum class Command : std::uint8_t {
  probe = 1,      ///< run the link probe's ping-pong (payload: ProbePlan)
  configure = 2,  ///< create the local node (payload: RankConfig); answered with RankReply
  job = 3,        ///< start a job (payload: JobMessage); tiles follow
  tile = 4,       ///< compute one tile (payload: TileOrder)
  end_job = 5,    ///< no more tiles for this job: finish, wait for new commands
  shutdown = 6,   ///< leave the worker loop and finalise MPI
};

/// First byte of a control message.
enum class Control : std::uint8_t { heartbeat = 1, error = 2 };

/// Appends plain values and strings to a byte buffer (host byte order: every rank of one job
/// runs the same build, so no conversion is needed).
class ByteWriter {
 public:
  template <class T>
  requires std::is_trivially_copyable_v<T> ByteWriter& put(const T& value) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&value);
    bytes_.insert(bytes_.end(), bytes, bytes + sizeof(T));
    return *this;
  }
  ByteWriter& put_string(std::string_view text) {
    put(static_cast<std::uint32_t>(text.size()));
    bytes_.insert(bytes_.end(), text.begin(), text.end());
    return *this;
  }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

/// Reads what ByteWriter wrote; throws Error when the message is shorter than expected.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  template <class T>
  requires std::is_trivially_copyable_v<T> T get() {
    T value;
    need(sizeof(T));
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  std::string get_string() {
    const auto size = get<std::uint32_t>();
    need(size);
    std::string text(reinterpret_cast<const char*>(bytes_.data() + at_), size);
    at_ += size;
    return text;
  }

 private:
  void need(std::size_t size) const {
    if (at_ + size > bytes_.size()) {
      throw Error("mpi: a message from another rank is truncated: are all ranks the same build?");
    }
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

/// The ping-pong rank 0 runs with one rank to measure its link and clock offset.
struct ProbePlan {
  std::int32_t latency_rounds = 0;            ///< 8-byte round trips
  std::int32_t bandwidth_reps = 0;            ///< repetitions per message size
  std::vector<std::int64_t> bandwidth_sizes;  ///< bytes per bandwidth message
};

/// The local node a rank computes its tiles with.
struct RankConfig {
  std::string backend = "threads";
  NodeOptions options;
  friend bool operator==(const RankConfig& a, const RankConfig& b) {
    return a.backend == b.backend && a.options.workers == b.options.workers &&
           a.options.device == b.options.device && a.options.kernel == b.options.kernel;
  }
};

/// A rank's answer to a probe or a configure command: who it is and what its node is.
struct RankReply {
  bool ok = true;
  std::string error;  ///< why the rank cannot serve (ok false)
  std::string host;   ///< host name
  std::int64_t pid = 0;
  NodeInfo node;  ///< the local node (configure), or the host CPU (probe)
};

/// One job for the ranks: its spec (each rank rebuilds the identical Job from it), the node
/// to run it on, and a hash of rank 0's axes so that a rank whose axes differ refuses the job.
struct JobMessage {
  JobSpec spec;
  RankConfig config;
  std::uint64_t axes_hash = 0;
};

/// One tile for a rank, in the rank's result slot `slot`.
struct TileOrder {
  std::int32_t slot = 0;
  Tile tile;
};

/// What a rank returns with a tile's counts. Times are the rank's own steady clock in ns.
struct ResultHeader {
  std::int64_t tile = -1;
  std::uint64_t iterations = 0;
  std::int64_t compute_begin_ns = 0, compute_end_ns = 0;
  std::int64_t send_ns = 0;
};

/// Command messages: the command byte, then the payload. The decoders below read the payload
/// after the command byte was read.
std::vector<std::uint8_t> encode(const ProbePlan& plan);
std::vector<std::uint8_t> encode(const RankConfig& config);
std::vector<std::uint8_t> encode(const JobMessage& message);
std::vector<std::uint8_t> encode(const TileOrder& order);
std::vector<std::uint8_t> encode(Command command);  ///< a command with no payload
/// A reply (no command byte).
std::vector<std::uint8_t> encode(const RankReply& reply);

ProbePlan decode_probe_plan(ByteReader& reader);
RankConfig decode_rank_config(ByteReader& reader);
RankReply decode_rank_reply(ByteReader& reader);
JobMessage decode_job_message(ByteReader& reader);
TileOrder decode_tile_order(ByteReader& reader);

/// FNV-1a 64 of the job's fp64 axes, the check that every rank computes the same grid.
std::uint64_t axes_hash(const Job& job);

/// steady_clock now in ns since its epoch: the clock a rank stamps its events with.
std::int64_t steady_now_ns();

}  // namespace hetero::nodes::mpi

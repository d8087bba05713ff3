// The messages rank 0 and the remote ranks exchange: tags, commands and their byte encoding.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"
#include "hetero/job.hpp"

namespace hetero::nodes::mpi {

// Tags. Rank 0 sends every command on kCommandTag; a rank answers a command that needs an answer
// on kReplyTag, reports heartbeats and errors during a run on kControlTag, and returns the
// result of the tile in its slot s on kResultTag + 2 s (header) and kResultTag + 2 s + 1
// (a kernel's written slices). The link probe's ping-pong uses kProbeTag in both
// directions. Rows one remote rank sends another travel on kPeerTag (in the order rank 0 asked
// for them); rows rank 0 fetches come back on the tag its request names, from kFetchTag on.
inline constexpr int kCommandTag = 1;
inline constexpr int kReplyTag = 2;
inline constexpr int kControlTag = 3;
inline constexpr int kProbeTag = 4;
inline constexpr int kPeerTag = 5;
inline constexpr int kResultTag = 16;
inline constexpr int kFetchTag = 64;
inline constexpr int kFetchTags = 4096;
/// Tiles a rank may have in flight at once (slots), whatever its local concurrency.
inline constexpr int kMaxSlots = 16;
/// Control messages are at most this long (a rank truncates its error text to fit).
inline constexpr int kControlBytes = 512;

/// What rank 0 asks of a remote rank; the first byte of every command message.
enum class Command : std::uint8_t {
  probe = 1,         ///< run the link probe's ping-pong (payload: ProbePlan)
  configure = 2,     ///< create the local node (payload: RankConfig); answered with RankReply
  tile = 4,          ///< compute one tile (payload: TileOrder)
  end_job = 5,       ///< no more tiles for this run: finish, wait for new commands
  shutdown = 6,      ///< leave the worker loop and finalise MPI
  query_kernel = 7,  ///< can the rank run a kernel? (payload: KernelQuery); answered with RankReply
  launch = 8,      ///< start a run of a user's kernel (payload: LaunchMessage); tiles follow, each
                   ///< order followed by the tile's read slices
  fetch = 9,       ///< send rank 0 rows of a kept array (payload: FetchRequest)
  send_rows = 10,  ///< send another rank rows of a kept array (payload: PeerSend)
  drop_arrays = 11,  ///< forget kept arrays (payload: their ids)
};

/// First byte of a control message.
enum class Control : std::uint8_t { heartbeat = 1, error = 2 };

/// Appends plain values and strings to a byte buffer (host byte order: every rank of one job
/// runs the same build, so no conversion is needed).
class ByteWriter {
 public:
  template <class T>
  requires std::is_trivially_copyable_v<T> ByteWriter& put(const T& value) {
    // Grown, then copied into: inserting a few bytes trips a false -Wstringop-overflow in g++ 12.
    const std::size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &value, sizeof(T));
    return *this;
  }
  ByteWriter& put_bytes(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), bytes, bytes + size);
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
  void get_bytes(void* data, std::size_t size) {
    need(size);
    if (size > 0) std::memcpy(data, bytes_.data() + at_, size);
    at_ += size;
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

/// A user's kernel as rank 0 names it, with the node a rank is to run it on. Every rank finds
/// its own copy by name (backend::find_kernel: the kernels passed to Runtime::serve).
struct KernelQuery {
  std::string name;
  std::int32_t dims = 1;
  std::string signature;  ///< the parameters' element types (KernelDefinition::signature)
  RankConfig config;
};

/// One run of a user's kernel on the ranks: the kernel, the index space, and each argument's
/// shape (arrays) or value (scalars). A registered array (hetero::Array) is named by the id
/// rank 0 gave it (`array_ids`, 0 for a plain array): every rank keeps its copy of it from run
/// to run, and only the rows a tile lacks travel. Encoded from rank 0's bindings, the message
/// carries the plain arrays a tile reads whole and the ids of kept arrays to forget first;
/// decoded, `arrays` holds the rank's own copy of every plain array argument, and each plain
/// array binding points into it (a kept one's is bound by the rank).
struct LaunchMessage {
  KernelQuery kernel;
  std::int64_t width = 0, height = 1;
  std::vector<backend::ArgumentBinding> arguments;
  std::vector<std::uint64_t> array_ids;  ///< per argument
  std::vector<std::uint64_t> dropped;    ///< kept arrays the ranks forget before the run
  std::vector<std::vector<std::byte>> arrays;
};

/// Rows (2-D) or elements (1-D) [begin, end) of an array a rank keeps, by its id.
struct KeptRows {
  std::uint64_t array = 0;
  std::int64_t begin = 0, end = 0;
};
/// Rank 0 asks for kept rows; the rank answers with their bytes on `tag`.
struct FetchRequest {
  KeptRows rows;
  std::int32_t tag = kFetchTag;
};
/// Rank 0 asks a rank to send kept rows to rank `to` (on kPeerTag).
struct PeerSend {
  KeptRows rows;
  std::int32_t to = 0;
};
/// Rows of a kept array argument a tile needs before it runs: from rank 0 within the order
/// (`from` 0), or from another rank (`from`), which rank 0 asked to send them.
struct RowsDelivery {
  std::uint32_t argument = 0;
  std::int64_t begin = 0, end = 0;
  std::int32_t from = 0;
};

/// One tile for a rank, in the rank's result slot `slot`.
struct TileOrder {
  std::int32_t slot = 0;
  Tile tile;
  std::vector<RowsDelivery> deliveries;
};

/// What a rank returns with a tile's results. Times are the rank's own steady clock in ns.
struct ResultHeader {
  std::int64_t tile = -1;
  std::uint64_t work = 0;  ///< a job's iterations, or a kernel's work units
  std::int64_t compute_begin_ns = 0, compute_end_ns = 0;
  std::int64_t send_ns = 0;
};

/// Command messages: the command byte, then the payload. The decoders below read the payload
/// after the command byte was read.
std::vector<std::uint8_t> encode(const ProbePlan& plan);
std::vector<std::uint8_t> encode(const RankConfig& config);
std::vector<std::uint8_t> encode(const TileOrder& order);
std::vector<std::uint8_t> encode(const KernelQuery& query);
std::vector<std::uint8_t> encode(const LaunchMessage& message);
std::vector<std::uint8_t> encode(const FetchRequest& request);
std::vector<std::uint8_t> encode(const PeerSend& send);
std::vector<std::uint8_t> encode_drop(std::span<const std::uint64_t> arrays);
std::vector<std::uint8_t> encode(Command command);  ///< a command with no payload
/// A reply (no command byte).
std::vector<std::uint8_t> encode(const RankReply& reply);

ProbePlan decode_probe_plan(ByteReader& reader);
RankConfig decode_rank_config(ByteReader& reader);
RankReply decode_rank_reply(ByteReader& reader);
TileOrder decode_tile_order(ByteReader& reader);
KernelQuery decode_kernel_query(ByteReader& reader);
LaunchMessage decode_launch_message(ByteReader& reader);
FetchRequest decode_fetch_request(ByteReader& reader);
PeerSend decode_peer_send(ByteReader& reader);
std::vector<std::uint64_t> decode_drop(ByteReader& reader);

/// Rows [begin, end) of an array shaped like `array` (2-D: rows of its width, at its pitch;
/// 1-D: elements), as they travel: row after row, without the gaps up to the pitch.
std::size_t rows_bytes(const backend::ArgumentBinding& array, int dims, std::int64_t begin,
                       std::int64_t end);
void pack_rows(const backend::ArgumentBinding& array, int dims, std::int64_t begin,
               std::int64_t end, std::vector<std::uint8_t>& bytes);
void unpack_rows(const backend::ArgumentBinding& array, int dims, std::int64_t begin,
                 std::int64_t end, ByteReader& reader);

/// The array arguments whose slices travel with each tile: the plain ones (`array_ids` 0)
/// whose access `selected` accepts. Kept arrays stay on the ranks.
using AccessFilter = bool (*)(Access);
std::vector<bool> travelling(std::span<const backend::ArgumentBinding> arguments,
                             std::span<const std::uint64_t> array_ids, AccessFilter selected);
/// A tile's part of the `travelling` arguments: every argument in order, row by row (a 2-D
/// row's width, without the gap up to its pitch).
std::size_t slice_bytes(std::span<const backend::ArgumentBinding> arguments,
                        const backend::TileRange& tile, const std::vector<bool>& travelling);
/// The bytes of that part that lie in the arguments' halos (the rows beyond the tile's own).
std::size_t halo_bytes(std::span<const backend::ArgumentBinding> arguments,
                       const backend::TileRange& tile, const std::vector<bool>& travelling);
/// Appends that part, read from the arguments' arrays, to `bytes`.
void pack_slices(std::span<const backend::ArgumentBinding> arguments,
                 const backend::TileRange& tile, const std::vector<bool>& travelling,
                 std::vector<std::uint8_t>& bytes);
/// Writes that part, as pack_slices wrote it, into the arguments' arrays.
void unpack_slices(std::span<const backend::ArgumentBinding> arguments,
                   const backend::TileRange& tile, const std::vector<bool>& travelling,
                   ByteReader& reader);

/// steady_clock now in ns since its epoch: the clock a rank stamps its events with.
std::int64_t steady_now_ns();

}  // namespace hetero::nodes::mpi

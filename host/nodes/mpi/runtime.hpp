// The MPI runtime of one process: MPI started by launch(), the measured link to every rank,
// the lock that serialises rank 0's MPI calls, and the orderly (or aborted) end of every rank.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol.hpp"

namespace hetero::nodes::mpi {

/// A remote rank's link to rank 0, as the probe measured it.
struct RankLink {
  int rank = 0;
  std::string host;
  std::int64_t pid = 0;
  std::string cpu;
  double latency_s = 0;              ///< one way: the median 8-byte round trip / 2
  double to_rank_bytes_per_s = 0;    ///< rank 0 to the rank: best median over 1-8 MiB messages
  double from_rank_bytes_per_s = 0;  ///< the rank to rank 0
  std::int64_t clock_offset_ns = 0;  ///< the rank's steady clock minus rank 0's
  double clock_uncertainty_s = 0;    ///< half the round trip the offset was taken from
};

/// The link a Node reports for a set of ranks: the medians of their latencies and bandwidths.
Link summarise(const std::vector<RankLink>& links);

class Runtime {
 public:
  static Runtime& instance();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Initialises MPI (MPI_THREAD_MULTIPLE requested, SERIALIZED at least) when an MPI launcher
  /// started this process; does nothing otherwise. A second call does nothing. Throws Error when
  /// MPI cannot give what the node needs.
  void start(int& argc, char**& argv);
  /// True when this process runs under MPI (started here or by the program before).
  bool started() const { return started_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// True on rank 0 of 2 or more ranks until finish(): the ranks still take commands.
  bool serving() const { return started_ && !finished_ && rank_ == 0 && size_ > 1; }
  /// Empty when this process can drive remote ranks (rank 0 of 2 or more); else why not.
  std::string unavailable_reason() const;

  /// The backend every rank computes its tiles with (`--rank-backend`, default threads).
  const std::string& rank_backend() const { return rank_backend_; }
  void set_rank_backend(std::string name) { rank_backend_ = std::move(name); }

  /// Serialises MPI calls of rank 0's threads: hold it for any sequence of MPI calls.
  std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

  /// Rank 0: the link to every remote rank, measured by ping-pong on first use or when
  /// `remeasure`. Takes the lock.
  std::vector<RankLink> links(bool remeasure = false);
  /// Rank 0: sends `command` to every rank and returns their replies in rank order. Takes the
  /// lock.
  std::vector<RankReply> ask_every_rank(const std::vector<std::uint8_t>& command);
  /// Rank 0: every rank creates its local node for `config`; returns their replies in rank
  /// order. Throws UsageError naming the first rank that cannot. Takes the lock.
  std::vector<RankReply> configure(const RankConfig& config);

  /// Seconds a rank with tiles in flight may stay silent before rank 0 declares it stuck
  /// (HETERO_MPI_TIMEOUT_S, default 10; ranks send a heartbeat every 0.5 s while working).
  double silence_timeout_s() const { return silence_timeout_s_; }

  /// Prints "hetero: error: mpi: <message>; aborting every rank" and ends every rank of the
  /// job with MPI_Abort: the way out when a rank died, hung or failed in the middle of a job.
  [[noreturn]] void abort_all(std::string_view message);

  /// Rank 0: tells every rank to leave its worker loop. Then, on every rank, finalises MPI if
  /// start() initialised it. Idempotent; runs at exit.
  void finish();
  ~Runtime();

 private:
  Runtime() = default;
  std::vector<RankLink> measure_links();

  std::mutex mutex_;        // MPI calls
  std::mutex links_mutex_;  // links_; taken before mutex_, never after
  bool started_ = false, owns_mpi_ = false, finished_ = false;
  int rank_ = 0, size_ = 1;
  std::string launcher_;  // which launcher started this process; empty: none
  std::string rank_backend_ = "threads";
  double silence_timeout_s_ = 10;
  std::optional<std::vector<RankLink>> links_;
};

// Point-to-point helpers with deadlines, for rank 0 and the remote ranks alike. A deadline
// that passes ends every rank through Runtime::abort_all with `what` in the message.

/// Sends `bytes` to `rank` and waits until the send completes.
void send_bytes(std::span<const std::uint8_t> bytes, int rank, int tag, double timeout_s,
                std::string_view what);
/// Receives one message of any length from `rank` with `tag`.
std::vector<std::uint8_t> receive_bytes(int rank, int tag, double timeout_s, std::string_view what);
/// Receives one message from `rank` with `tag` if one is waiting.
std::optional<std::vector<std::uint8_t>> try_receive_bytes(int rank, int tag);

/// Sleeps between polls of MPI: short while messages keep coming, up to `max_us` when idle, so
/// that a rank waiting for work leaves its core to the ranks computing.
class Backoff {
 public:
  explicit Backoff(int max_us) : max_us_(max_us) {}
  void reset() { us_ = 0; }
  void set_max_us(int max_us) { max_us_ = max_us; }
  /// Yields the first time, then sleeps 1, 2, 4, ... up to max_us microseconds.
  void pause();
  /// The next wait of the same series (0 the first time), for a caller that waits otherwise.
  std::chrono::microseconds next_wait();

 private:
  int max_us_;
  int us_ = 0;
};

}  // namespace hetero::nodes::mpi

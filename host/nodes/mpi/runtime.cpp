// The MPI runtime: start-up, the link probe, configuration of the ranks, abort and shutdown.
#include "runtime.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "core/host_info.hpp"
#include "hetero/error.hpp"
#include "hetero/settings.hpp"

namespace hetero::nodes::mpi {
namespace {

// The ping-pong the probe runs with each rank.
constexpr std::int32_t kLatencyRounds = 200;
constexpr std::int32_t kBandwidthReps = 3;
constexpr std::int64_t kMiB = 1 << 20;
// Creating a rank's node may compile kernels or open a GPU.
constexpr double kConfigureTimeoutS = 120;
constexpr double kCommandTimeoutS = 30;
constexpr int kPollMaxUs = 200;

// The environment variable an MPI launcher sets in every process it starts, and its name.
std::string detect_launcher() {
  constexpr std::pair<const char*, const char*> kLaunchers[] = {
      {"OMPI_COMM_WORLD_SIZE", "Open MPI's mpirun"},
      {"PMIX_RANK", "a PMIx launcher"},
      {"PMI_SIZE", "a PMI launcher (mpiexec.hydra, srun)"},
  };
  for (const auto& [variable, name] : kLaunchers) {
    if (std::getenv(variable) != nullptr) return name;
  }
  return {};
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double env_seconds(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value > 0)) {
    throw UsageError(fmt::format("{}='{}': expected a positive number of seconds", name, text));
  }
  return value;
}

std::string thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
      return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
      return "MPI_THREAD_SERIALIZED";
    default:
      return "MPI_THREAD_MULTIPLE";
  }
}

// One rank's side of measure_links(), driven from rank 0.
RankLink probe_rank(int rank, const ProbePlan& plan) {
  RankLink link;
  link.rank = rank;
  send_bytes(encode(plan), rank, kCommandTag, kCommandTimeoutS, "the link probe");

  // Latency and clock offset: the rank answers each 8-byte ping with its own clock; the offset
  // comes from the shortest round trip, where the midpoint is the best estimate.
  std::vector<double> round_trips;
  std::int64_t best_rtt = -1;
  for (std::int32_t i = 0; i < plan.latency_rounds; ++i) {
    std::int64_t stamp = steady_now_ns();
    const std::int64_t sent = stamp;
    MPI_Send(&stamp, 1, MPI_INT64_T, rank, kProbeTag, MPI_COMM_WORLD);
    MPI_Recv(&stamp, 1, MPI_INT64_T, rank, kProbeTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    const std::int64_t received = steady_now_ns();
    const std::int64_t rtt = received - sent;
    round_trips.push_back(static_cast<double>(rtt) * 1e-9);
    if (best_rtt < 0 || rtt < best_rtt) {
      best_rtt = rtt;
      link.clock_offset_ns = stamp - (sent + received) / 2;
    }
  }
  const double rtt = median(round_trips);
  link.latency_s = rtt / 2;
  link.clock_uncertainty_s = static_cast<double>(best_rtt) * 0.5e-9;

  // Bandwidth each way: a large message one way and a 1-byte answer; the small-message round
  // trip is taken off each sample.
  const std::int64_t largest =
      *std::max_element(plan.bandwidth_sizes.begin(), plan.bandwidth_sizes.end());
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(largest), 0x5a);
  std::uint8_t ack = 0;
  auto rate = [&](std::int64_t bytes, double seconds) {
    return static_cast<double>(bytes) / std::max(seconds - rtt, 1e-9);
  };
  for (std::int64_t bytes : plan.bandwidth_sizes) {
    std::vector<double> samples;
    for (std::int32_t rep = 0; rep < plan.bandwidth_reps; ++rep) {
      const std::int64_t begin = steady_now_ns();
      MPI_Send(buffer.data(), static_cast<int>(bytes), MPI_BYTE, rank, kProbeTag, MPI_COMM_WORLD);
      MPI_Recv(&ack, 1, MPI_BYTE, rank, kProbeTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      samples.push_back(rate(bytes, static_cast<double>(steady_now_ns() - begin) * 1e-9));
    }
    link.to_rank_bytes_per_s = std::max(link.to_rank_bytes_per_s, median(samples));
  }
  for (std::int64_t bytes : plan.bandwidth_sizes) {
    std::vector<double> samples;
    for (std::int32_t rep = 0; rep < plan.bandwidth_reps; ++rep) {
      const std::int64_t begin = steady_now_ns();
      MPI_Send(&ack, 1, MPI_BYTE, rank, kProbeTag, MPI_COMM_WORLD);
      MPI_Recv(buffer.data(), static_cast<int>(bytes), MPI_BYTE, rank, kProbeTag, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      samples.push_back(rate(bytes, static_cast<double>(steady_now_ns() - begin) * 1e-9));
    }
    link.from_rank_bytes_per_s = std::max(link.from_rank_bytes_per_s, median(samples));
  }

  const std::vector<std::uint8_t> bytes =
      receive_bytes(rank, kReplyTag, kCommandTimeoutS, "the link probe's answer");
  ByteReader reader(bytes);
  const RankReply reply = decode_rank_reply(reader);
  link.host = reply.host;
  link.pid = reply.pid;
  link.cpu = reply.node.device;
  return link;
}

}  // namespace

Link summarise(const std::vector<RankLink>& links) {
  Link link;
  if (links.empty()) return link;
  std::vector<double> latency, to_rank, from_rank;
  for (const RankLink& rank : links) {
    latency.push_back(rank.latency_s);
    to_rank.push_back(rank.to_rank_bytes_per_s);
    from_rank.push_back(rank.from_rank_bytes_per_s);
  }
  link.zero_copy = false;
  link.to_device_latency_s = link.to_host_latency_s = median(latency);
  link.to_device_bytes_per_s = median(to_rank);
  link.to_host_bytes_per_s = median(from_rank);
  link.source = "probe";
  return link;
}

Runtime& Runtime::instance() {
  static Runtime runtime;
  return runtime;
}

void Runtime::start(int& argc, char**& argv) {
  if (started_) return;
  int initialised = 0;
  MPI_Initialized(&initialised);
  int provided = MPI_THREAD_SINGLE;
  if (initialised != 0) {
    MPI_Query_thread(&provided);
    launcher_ = "the program";
  } else {
    launcher_ = detect_launcher();
    if (launcher_.empty()) return;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    owns_mpi_ = true;
  }
  started_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (provided < MPI_THREAD_SERIALIZED) {
    throw Error(
        fmt::format("mpi: the MPI library gives {}, the mpi node needs "
                    "MPI_THREAD_SERIALIZED or more: use an MPI built with thread support",
                    thread_level_name(provided)));
  }
  silence_timeout_s_ = env_seconds("HETERO_MPI_TIMEOUT_S", silence_timeout_s_);
}

std::string Runtime::unavailable_reason() const {
  if (!started_) {
    if (!detect_launcher().empty()) {
      return "MPI was not started in this process: call hetero::nodes::mpi::launch(argc, argv) "
             "at the start of main (the hetero tool does)";
    }
    return "not started by mpirun: run under mpirun with 2 or more ranks (mpirun -np 3 hetero "
           "render --backend mpi)";
  }
  if (size_ < 2) {
    return "this MPI job has 1 rank: run under mpirun with 2 or more ranks (rank 0 dispatches, "
           "the others compute)";
  }
  if (rank_ != 0) return fmt::format("rank {} is a remote node: only rank 0 dispatches", rank_);
  return {};
}

std::vector<RankLink> Runtime::links(bool remeasure) {
  std::lock_guard links_guard(links_mutex_);
  if (!links_ || remeasure) {
    auto guard = lock();
    links_ = measure_links();
  }
  return *links_;
}

std::vector<RankLink> Runtime::measure_links() {
  ProbePlan plan;
  plan.latency_rounds = kLatencyRounds;
  plan.bandwidth_reps = kBandwidthReps;
  plan.bandwidth_sizes = {1 * kMiB, 2 * kMiB, 4 * kMiB, 8 * kMiB};
  std::vector<RankLink> links;
  for (int rank = 1; rank < size_; ++rank) links.push_back(probe_rank(rank, plan));
  return links;
}

std::vector<RankReply> Runtime::ask_every_rank(const std::vector<std::uint8_t>& command) {
  auto guard = lock();
  for (int rank = 1; rank < size_; ++rank) {
    send_bytes(command, rank, kCommandTag, kCommandTimeoutS, "sending the ranks a command");
  }
  std::vector<RankReply> replies;
  for (int rank = 1; rank < size_; ++rank) {
    const std::vector<std::uint8_t> bytes =
        receive_bytes(rank, kReplyTag, kConfigureTimeoutS, "a rank answering a command");
    ByteReader reader(bytes);
    replies.push_back(decode_rank_reply(reader));
  }
  return replies;
}

std::vector<RankReply> Runtime::configure(const RankConfig& config) {
  const std::vector<RankReply> replies = ask_every_rank(encode(config));
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok) {
      throw UsageError(fmt::format("mpi: rank {} on {} cannot compute with --rank-backend {}: {}",
                                   i + 1, replies[i].host, config.backend, replies[i].error));
    }
  }
  return replies;
}

void Runtime::abort_all(std::string_view message) {
  std::fflush(stdout);
  hetero::detail::log_warning(fmt::format("error: mpi: {}; aborting every rank", message));
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest if it did
}

void Runtime::finish() {
  if (!started_ || finished_) return;
  finished_ = true;
  if (rank_ == 0) {
    const std::vector<std::uint8_t> command = encode(Command::shutdown);
    for (int rank = 1; rank < size_; ++rank) {
      send_bytes(command, rank, kCommandTag, kCommandTimeoutS, "shutting the ranks down");
    }
  }
  if (owns_mpi_) MPI_Finalize();
}

Runtime::~Runtime() {
  try {
    finish();
  } catch (...) {
    // Exiting anyway: MPI reports an unfinished job on its own.
  }
}

void send_bytes(std::span<const std::uint8_t> bytes, int rank, int tag, double timeout_s,
                std::string_view what) {
  MPI_Request request = MPI_REQUEST_NULL;
  MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, rank, tag, MPI_COMM_WORLD,
            &request);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  Backoff backoff(kPollMaxUs);
  for (;;) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done != 0) return;
    if (std::chrono::steady_clock::now() > deadline) {
      Runtime::instance().abort_all(
          fmt::format("rank {} took no message for {:.0f} s during {}", rank, timeout_s, what));
    }
    backoff.pause();
  }
}

std::optional<std::vector<std::uint8_t>> try_receive_bytes(int rank, int tag) {
  int waiting = 0;
  MPI_Status status;
  MPI_Iprobe(rank, tag, MPI_COMM_WORLD, &waiting, &status);
  if (waiting == 0) return std::nullopt;
  int size = 0;
  MPI_Get_count(&status, MPI_BYTE, &size);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  MPI_Recv(bytes.data(), size, MPI_BYTE, rank, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return bytes;
}

std::vector<std::uint8_t> receive_bytes(int rank, int tag, double timeout_s,
                                        std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  Backoff backoff(kPollMaxUs);
  for (;;) {
    if (auto bytes = try_receive_bytes(rank, tag)) return std::move(*bytes);
    if (std::chrono::steady_clock::now() > deadline) {
      Runtime::instance().abort_all(
          fmt::format("rank {} sent nothing for {:.0f} s during {}", rank, timeout_s, what));
    }
    backoff.pause();
  }
}

std::chrono::microseconds Backoff::next_wait() {
  const int wait = us_;
  us_ = us_ == 0 ? 1 : std::min(max_us_, us_ * 2);
  return std::chrono::microseconds(wait);
}

void Backoff::pause() {
  const std::chrono::microseconds wait = next_wait();
  if (wait.count() == 0) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace hetero::nodes::mpi

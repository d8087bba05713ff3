// The worker loop of a remote rank: kernels and tiles in, results and timings out.
#include "worker.hpp"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "core/host_info.hpp"
#include "hetero/backend/launch.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"

namespace hetero::nodes::mpi {
namespace {

constexpr auto kHeartbeatPeriod = std::chrono::milliseconds(500);
// Polls for commands during a job: every kBusyPoll while the local node has tiles (a new order
// is not urgent then), backing off from 1 to kStarvedPollMaxUs microseconds while it waits for one.
constexpr auto kBusyPoll = std::chrono::microseconds(1000);
constexpr int kStarvedPollMaxUs = 50;
constexpr int kIdlePollMaxUs = 1000;
constexpr double kReplyTimeoutS = 30;
// After reporting a failure, rank 0 ends the job; if it does not, this rank ends it.
constexpr auto kAbortGrace = std::chrono::seconds(30);

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown host";
  return name;
}

int rank_from_env(const char* variable) {
  const char* text = std::getenv(variable);
  return text == nullptr ? -1 : std::atoi(text);
}

// A tile the local node finished, with its times on this rank's steady clock.
struct Finished {
  Tile tile;
  std::int32_t slot = 0;
  std::int64_t begin_ns = 0, end_ns = 0;
};

// The local node's WorkSource: tiles rank 0 sent, handed out one at a time (self-scheduling),
// and the finished ones collected for the MPI thread.
class TileQueue final : public WorkSource {
 public:
  bool self_scheduling() const override { return true; }
  std::span<const Tile> assigned() const override { return {}; }
  std::optional<Tile> next() override {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !orders_.empty() || closed_; });
    if (orders_.empty()) return std::nullopt;
    const TileOrder order = orders_.front();
    orders_.pop_front();
    started_[order.tile.index] = {order.slot, steady_now_ns()};
    return order.tile;
  }
  bool stop_requested() const override { return false; }
  /// True while no tile is queued or being computed: the local node waits for an order.
  bool starved() {
    std::lock_guard lock(mutex_);
    return orders_.empty() && started_.empty();
  }
  void completed(const Tile& tile) override {
    const std::int64_t end = steady_now_ns();
    {
      std::lock_guard lock(mutex_);
      const auto it = started_.find(tile.index);
      const auto [slot, begin] = it != started_.end() ? it->second : std::pair{0, end};
      finished_.push_back({tile, slot, begin, end});
      if (it != started_.end()) started_.erase(it);
    }
    done_.notify_one();
  }

  void push(const TileOrder& order) {
    {
      std::lock_guard lock(mutex_);
      orders_.push_back(order);
    }
    ready_.notify_one();
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }
  /// Waits up to `wait` for finished tiles (or `wake`) and takes them.
  std::vector<Finished> take_finished(std::chrono::microseconds wait) {
    std::unique_lock lock(mutex_);
    done_.wait_for(lock, wait, [&] { return !finished_.empty() || wake_; });
    wake_ = false;
    std::vector<Finished> taken(finished_.begin(), finished_.end());
    finished_.clear();
    return taken;
  }
  void wake() {
    {
      std::lock_guard lock(mutex_);
      wake_ = true;
    }
    done_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_, done_;
  std::deque<TileOrder> orders_;
  std::map<std::int64_t, std::pair<std::int32_t, std::int64_t>> started_;  // slot, begin
  std::deque<Finished> finished_;
  bool closed_ = false, wake_ = false;
};

// A result on its way to rank 0: the header and the two sends (the kernel's written slices from
// `slices`).
struct PendingResult {
  ResultHeader header;
  std::vector<std::uint8_t> slices;
  MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
};

// A run of a user's kernel on this rank: the launch bound to the rank's own arrays, and which
// arguments' slices travel with each tile (plain arrays) both ways.
struct KernelRun {
  LaunchMessage message;  // owns the plain arrays
  backend::Launch launch;
  std::vector<bool> reads, writes;
};

// A registered array this rank keeps from run to run (rank 0 tracks which of its rows are
// valid here): its shape as a binding, and its bytes.
struct KeptArray {
  backend::ArgumentBinding shape;
  int dims = 1;
  std::vector<std::byte> bytes;
};

// Rows on their way to another rank; the buffer lives until the send completes.
struct PendingPeerSend {
  std::vector<std::uint8_t> bytes;
  MPI_Request request = MPI_REQUEST_NULL;
};

class RemoteWorker {
 public:
  explicit RemoteWorker(Runtime& runtime)
      : runtime_(runtime),
        host_(host_name()),
        exit_after_first_(rank_from_env("HETERO_MPI_TEST_EXIT_RANK") == runtime.rank()),
        stall_after_first_(rank_from_env("HETERO_MPI_TEST_STALL_RANK") == runtime.rank()) {}

  int run() {
    Backoff idle(kIdlePollMaxUs);
    for (;;) {
      bool busy = false;
      while (auto command = try_receive_bytes(0, kCommandTag)) {
        busy = true;
        if (!handle(*command)) return 0;
      }
      if (running_) {
        serve_job(busy);
        continue;
      }
      test_peer_sends();
      if (busy) {
        idle.reset();
      } else {
        idle.pause();
      }
    }
  }

 private:
  // Returns false on shutdown.
  bool handle(const std::vector<std::uint8_t>& bytes) {
    ByteReader reader(bytes);
    switch (reader.get<Command>()) {
      case Command::probe:
        answer_probe(decode_probe_plan(reader));
        return true;
      case Command::configure:
        configure(decode_rank_config(reader));
        return true;
      case Command::query_kernel:
        answer_query(decode_kernel_query(reader));
        return true;
      case Command::launch:
        start_launch(decode_launch_message(reader));
        return true;
      case Command::tile:
        if (running_) queue_->push(take_tile(reader));
        return true;
      case Command::end_job:
        end_job();
        return true;
      case Command::fetch:
        answer_fetch(decode_fetch_request(reader));
        return true;
      case Command::send_rows:
        send_rows(decode_peer_send(reader));
        return true;
      case Command::drop_arrays:
        for (const std::uint64_t id : decode_drop(reader)) kept_.erase(id);
        return true;
      case Command::shutdown:
        return false;
    }
    fail("received an unknown command from rank 0: are all ranks the same build?");
  }

  RankReply reply() const {
    RankReply reply;
    reply.host = host_;
    reply.pid = getpid();
    return reply;
  }

  void answer_probe(const ProbePlan& plan) {
    for (std::int32_t i = 0; i < plan.latency_rounds; ++i) {
      std::int64_t stamp = 0;
      MPI_Recv(&stamp, 1, MPI_INT64_T, 0, kProbeTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      stamp = steady_now_ns();
      MPI_Send(&stamp, 1, MPI_INT64_T, 0, kProbeTag, MPI_COMM_WORLD);
    }
    std::int64_t largest = 1;
    for (const std::int64_t size : plan.bandwidth_sizes) largest = std::max(largest, size);
    std::vector<std::uint8_t> buffer(static_cast<std::size_t>(largest), 0xa5);
    std::uint8_t ack = 0;
    for (const std::int64_t size : plan.bandwidth_sizes) {
      for (std::int32_t rep = 0; rep < plan.bandwidth_reps; ++rep) {
        MPI_Recv(buffer.data(), static_cast<int>(size), MPI_BYTE, 0, kProbeTag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        MPI_Send(&ack, 1, MPI_BYTE, 0, kProbeTag, MPI_COMM_WORLD);
      }
    }
    for (const std::int64_t size : plan.bandwidth_sizes) {
      for (std::int32_t rep = 0; rep < plan.bandwidth_reps; ++rep) {
        MPI_Recv(&ack, 1, MPI_BYTE, 0, kProbeTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buffer.data(), static_cast<int>(size), MPI_BYTE, 0, kProbeTag, MPI_COMM_WORLD);
      }
    }
    RankReply answer = reply();
    answer.node.device = detail::host_cpu_name();
    send_bytes(encode(answer), 0, kReplyTag, kReplyTimeoutS, "answering the link probe");
  }

  // Creates the local node for `config`; on failure the reply says why.
  bool make_node(const RankConfig& config, RankReply& answer) {
    if (node_ && config == config_) return true;
    node_.reset();
    try {
      if (config.backend == "mpi") {
        throw UsageError("a rank computes with a local backend (threads, simd, cuda, ...)");
      }
      node_ = NodeRegistry::builtin().create(config.backend, config.options);
      config_ = config;
      return true;
    } catch (const std::exception& e) {
      answer.ok = false;
      answer.error = e.what();
      return false;
    }
  }

  void configure(const RankConfig& config) {
    RankReply answer = reply();
    if (make_node(config, answer)) answer.node = node_->info();
    send_bytes(encode(answer), 0, kReplyTag, kReplyTimeoutS, "answering the configuration");
  }

  // The kernel `query` names, checked against rank 0's; on failure, `why` says what differs.
  std::shared_ptr<const backend::KernelDefinition> find(const KernelQuery& query,
                                                        std::string& why) const {
    std::shared_ptr<const backend::KernelDefinition> kernel = backend::find_kernel(query.name);
    if (!kernel) {
      why = fmt::format(
          "rank {} knows no kernel '{}': pass it to hetero::Runtime::serve() in main(), which "
          "every rank runs",
          runtime_.rank(), query.name);
    } else if (kernel->dims != query.dims || kernel->signature != query.signature) {
      why = fmt::format(
          "rank {}'s kernel '{}' is {}-D {}, rank 0's {}-D {}: run the same program on every "
          "rank",
          runtime_.rank(), query.name, kernel->dims, kernel->signature, query.dims,
          query.signature);
      kernel.reset();
    }
    return kernel;
  }

  void answer_query(const KernelQuery& query) {
    RankReply answer = reply();
    std::string why;
    if (const auto kernel = find(query, why); !kernel) {
      answer.ok = false;
      answer.error = why;
    } else if (make_node(query.config, answer)) {
      answer.node = node_->info();
      if (!node_->can_run(*kernel, why)) {
        answer.ok = false;
        answer.error = fmt::format("rank {}: {}", runtime_.rank(), why);
      }
    }
    send_bytes(encode(answer), 0, kReplyTag, kReplyTimeoutS, "answering a kernel query");
  }

  void start_launch(LaunchMessage message) {
    if (!use_node(message.kernel.config)) return;
    std::string why;
    const auto kernel = find(message.kernel, why);
    if (!kernel) fail(why);
    for (const std::uint64_t id : message.dropped) kept_.erase(id);
    kernel_run_ = std::make_unique<KernelRun>();
    KernelRun& run = *kernel_run_;
    run.message = std::move(message);
    run.launch.kernel = kernel;
    run.launch.width = run.message.width;
    run.launch.height = run.message.height;
    run.launch.arguments = run.message.arguments;
    for (std::size_t i = 0; i < run.launch.arguments.size(); ++i) {
      const std::uint64_t id = run.message.array_ids[i];
      if (id != 0) run.launch.arguments[i].data = keep(id, run.launch.arguments[i], kernel->dims);
    }
    run.reads = travelling(run.launch.arguments, run.message.array_ids, backend::reads_slice);
    run.writes = travelling(run.launch.arguments, run.message.array_ids, backend::writes_slice);
    start_runner([this](NodeTrace& trace) { node_->launch(kernel_run_->launch, *queue_, trace); });
  }

  // The kept array `id`, shaped like `argument` (made, zeroed, when it is new or its shape
  // changed): where its bytes are.
  void* keep(std::uint64_t id, const backend::ArgumentBinding& argument, int dims) {
    KeptArray& array = kept_[id];
    if (array.bytes.size() != argument.bytes() || array.shape.pitch != argument.pitch ||
        array.shape.element_bytes != argument.element_bytes) {
      array.bytes.assign(argument.bytes(), std::byte{0});
    }
    array.shape = argument;
    array.dims = dims;
    array.shape.data = array.bytes.data();
    return array.bytes.data();
  }

  KeptArray& kept(std::uint64_t id) {
    const auto it = kept_.find(id);
    if (it == kept_.end()) {
      fail(
          fmt::format("rank 0 asked for rows of array {}, which this rank does not keep: are all "
                      "ranks the same build?",
                      id));
    }
    return it->second;
  }

  // A tile order, with the slices and rows it reads, put in place before it is queued: plain
  // arrays' slices and rows from rank 0 come within the order, rows from other ranks after it.
  TileOrder take_tile(ByteReader& reader) {
    const TileOrder order = decode_tile_order(reader);
    const KernelRun& run = *kernel_run_;
    const backend::Launch& launch = run.launch;
    unpack_slices(launch.arguments, launch.range(order.tile), run.reads, reader);
    for (const RowsDelivery& delivery : order.deliveries) {
      if (delivery.argument >= launch.arguments.size()) {
        fail("rank 0 sent rows of an argument the kernel does not have");
      }
      const backend::ArgumentBinding& argument = launch.arguments[delivery.argument];
      if (delivery.from == 0) {
        unpack_rows(argument, launch.dims(), delivery.begin, delivery.end, reader);
        continue;
      }
      const std::vector<std::uint8_t> rows = receive_bytes(
          delivery.from, kPeerTag, kReplyTimeoutS,
          fmt::format("rank {} waiting for rows from rank {}", runtime_.rank(), delivery.from));
      ByteReader peer(rows);
      unpack_rows(argument, launch.dims(), delivery.begin, delivery.end, peer);
    }
    return order;
  }

  void answer_fetch(const FetchRequest& request) {
    const KeptArray& array = kept(request.rows.array);
    std::vector<std::uint8_t> bytes;
    pack_rows(array.shape, array.dims, request.rows.begin, request.rows.end, bytes);
    send_bytes(bytes, 0, request.tag, kReplyTimeoutS, "sending rows rank 0 fetched");
  }

  // Starts sending rows to another rank; the send completes while this rank goes on (the rows
  // are not written until the run that sends them is over).
  void send_rows(const PeerSend& send) {
    const KeptArray& array = kept(send.rows.array);
    PendingPeerSend& pending = peer_sends_.emplace_back();
    pack_rows(array.shape, array.dims, send.rows.begin, send.rows.end, pending.bytes);
    MPI_Isend(pending.bytes.data(), static_cast<int>(pending.bytes.size()), MPI_BYTE, send.to,
              kPeerTag, MPI_COMM_WORLD, &pending.request);
  }

  void test_peer_sends() {
    std::erase_if(peer_sends_, [](PendingPeerSend& pending) {
      int done = 0;
      MPI_Test(&pending.request, &done, MPI_STATUS_IGNORE);
      return done != 0;
    });
  }

  // Makes the node `config` asks for; false (after reporting it) when it cannot be made.
  bool use_node(const RankConfig& config) {
    RankReply answer;
    if (make_node(config, answer)) return true;
    fail(fmt::format("cannot create its {} node: {}", config.backend, answer.error));
  }

  // Runs `body` with the local node on a thread of its own, which takes tiles from queue_.
  template <class Body>
  void start_runner(Body body) {
    queue_ = std::make_unique<TileQueue>();
    local_error_.clear();
    runner_failed_ = false;
    running_ = true;
    last_heartbeat_ = std::chrono::steady_clock::now();
    runner_ = std::thread([this, body = std::move(body)] {
      TraceClock clock;
      NodeTrace trace(&clock, 0);
      trace.reserve_lanes(std::max(1, node_->lanes()));
      try {
        body(trace);
      } catch (const std::exception& e) {
        local_error_ = e.what();
        runner_failed_ = true;
        queue_->wake();
      }
    });
  }

  void serve_job(bool busy) {
    std::chrono::microseconds wait{0};
    if (busy) {
      starved_poll_.reset();
    } else if (queue_->starved()) {
      wait = starved_poll_.next_wait();
    } else {
      wait = kBusyPoll;
    }
    for (const Finished& finished : queue_->take_finished(wait)) send_result(finished);
    test_sends();
    test_peer_sends();
    if (runner_failed_.load()) {
      fail(fmt::format("its {} node failed: {}", config_.backend, local_error_));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_heartbeat_ >= kHeartbeatPeriod) {
      int done = 1;
      if (heartbeat_request_ != MPI_REQUEST_NULL) {
        MPI_Test(&heartbeat_request_, &done, MPI_STATUS_IGNORE);
      }
      if (done != 0) {
        heartbeat_[0] = static_cast<std::uint8_t>(Control::heartbeat);
        MPI_Isend(heartbeat_, 1, MPI_BYTE, 0, kControlTag, MPI_COMM_WORLD, &heartbeat_request_);
      }
      last_heartbeat_ = now;
    }
  }

  void send_result(const Finished& finished) {
    const Tile& tile = finished.tile;
    PendingResult& result = pending_.emplace_back();
    const void* payload = nullptr;
    std::size_t payload_bytes = 0;
    const backend::Launch& launch = kernel_run_->launch;
    pack_slices(launch.arguments, launch.range(tile), kernel_run_->writes, result.slices);
    payload = result.slices.data();
    payload_bytes = result.slices.size();
    const std::uint64_t work = launch.work_units(tile);
    result.header = {tile.index, work, finished.begin_ns, finished.end_ns, steady_now_ns()};
    MPI_Isend(&result.header, sizeof(ResultHeader), MPI_BYTE, 0, kResultTag + 2 * finished.slot,
              MPI_COMM_WORLD, &result.requests[0]);
    MPI_Isend(payload, static_cast<int>(payload_bytes), MPI_BYTE, 0,
              kResultTag + 2 * finished.slot + 1, MPI_COMM_WORLD, &result.requests[1]);
    ++results_sent_;
    if (results_sent_ == 1 && (exit_after_first_ || stall_after_first_)) test_hook();
  }

  void test_hook() {
    MPI_Waitall(2, pending_.back().requests, MPI_STATUSES_IGNORE);
    if (exit_after_first_) std::_Exit(3);
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }

  void test_sends() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      MPI_Testall(2, it->requests, &done, MPI_STATUSES_IGNORE);
      it = done != 0 ? pending_.erase(it) : std::next(it);
    }
  }

  void end_job() {
    if (!running_) return;
    queue_->close();
    runner_.join();
    for (const Finished& finished : queue_->take_finished(std::chrono::microseconds(0))) {
      send_result(finished);
    }
    if (runner_failed_.load()) {
      fail(fmt::format("its {} node failed: {}", config_.backend, local_error_));
    }
    Backoff backoff(kIdlePollMaxUs);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!pending_.empty() || !peer_sends_.empty()) {
      test_sends();
      test_peer_sends();
      if (std::chrono::steady_clock::now() > deadline) {
        runtime_.abort_all(fmt::format(
            "rank {}: rank 0 took no result for 30 s at the end of a job", runtime_.rank()));
      }
      backoff.pause();
    }
    if (heartbeat_request_ != MPI_REQUEST_NULL) MPI_Wait(&heartbeat_request_, MPI_STATUS_IGNORE);
    running_ = false;
    queue_.reset();
    kernel_run_.reset();
  }

  // Tells rank 0 what went wrong (it then ends the job) and waits to be ended.
  [[noreturn]] void fail(const std::string& what) {
    std::string text = what;
    text.resize(std::min<std::size_t>(text.size(), kControlBytes - 2));
    std::vector<std::uint8_t> message(text.size() + 2, 0);
    message[0] = static_cast<std::uint8_t>(Control::error);
    std::memcpy(message.data() + 1, text.data(), text.size());
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_Isend(message.data(), static_cast<int>(message.size()), MPI_BYTE, 0, kControlTag,
              MPI_COMM_WORLD, &request);
    const auto deadline = std::chrono::steady_clock::now() + kAbortGrace;
    while (std::chrono::steady_clock::now() < deadline) {
      int done = 0;
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    runtime_.abort_all(fmt::format("rank {} on {}: {}", runtime_.rank(), host_, what));
  }

  Runtime& runtime_;
  std::string host_;
  bool exit_after_first_, stall_after_first_;
  RankConfig config_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<KernelRun> kernel_run_;  // set while a kernel runs
  std::unique_ptr<TileQueue> queue_;
  std::thread runner_;
  std::string local_error_;
  std::atomic<bool> runner_failed_{false};
  bool running_ = false;
  std::list<PendingResult> pending_;
  std::list<PendingPeerSend> peer_sends_;
  std::map<std::uint64_t, KeptArray> kept_;
  std::int64_t results_sent_ = 0;
  std::uint8_t heartbeat_[1] = {};
  MPI_Request heartbeat_request_ = MPI_REQUEST_NULL;
  std::chrono::steady_clock::time_point last_heartbeat_;
  Backoff starved_poll_{kStarvedPollMaxUs};
};

}  // namespace

int run_remote_worker(Runtime& runtime) {
  RemoteWorker worker(runtime);
  const int status = worker.run();
  runtime.finish();
  return status;
}

}  // namespace hetero::nodes::mpi

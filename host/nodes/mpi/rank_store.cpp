// Registered arrays kept on the remote ranks, as rank 0 tracks them.
#include "rank_store.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>

#include <fmt/format.h>

#include "hetero/error.hpp"

namespace hetero::nodes::mpi {
namespace {

constexpr double kFetchTimeoutS = 30;
constexpr int kFetchPollMaxUs = 200;

}  // namespace

void* RankMemory::allocate(std::size_t /*bytes*/) {
  throw Error("mpi: the ranks' memory is reached only through the arrays they keep");
}

void RankMemory::deallocate(void* /*pointer*/, std::size_t /*bytes*/) noexcept {}

void RankMemory::copy_from_host(void* /*device_dst*/, const void* /*host_src*/,
                                std::size_t /*bytes*/) {
  throw Error("mpi: the ranks' memory is reached only through the arrays they keep");
}

void RankMemory::copy_to_host(void* /*host_dst*/, const void* /*device_src*/,
                              std::size_t /*bytes*/) {
  throw Error("mpi: the ranks' memory is reached only through the arrays they keep");
}

backend::ArgumentBinding host_shape(const backend::ArrayRecord& array) {
  const backend::ArrayRecord::Shape& shape = array.shape();
  backend::ArgumentBinding binding;
  binding.is_array = true;
  binding.data = array.host();
  binding.element_bytes = shape.element_bytes;
  binding.width = shape.width;
  binding.height = shape.height;
  binding.pitch = shape.pitch;
  return binding;
}

RankReplica::RankReplica(std::shared_ptr<RankStore> store, const backend::ArrayRecord& array)
    : store_(std::move(store)),
      id_(store_->next_id()),
      bytes_(array.bytes()),
      held_(static_cast<std::size_t>(store_->ranks()),
            std::vector<bool>(static_cast<std::size_t>(array.blocks()), false)),
      kept_(static_cast<std::size_t>(store_->ranks()), false) {}

RankReplica::~RankReplica() {
  const auto kept_on = static_cast<int>(std::count(kept_.begin(), kept_.end(), true));
  store_->forget(id_, bytes_, kept_on);
}

void RankReplica::copy_to_host(const backend::ArrayRecord& array, backend::BlockRun run) {
  const backend::ArgumentBinding host = host_shape(array);
  const int dims = array.shape().dims;
  // Adjacent blocks one rank holds go in one fetch.
  std::int64_t b = run.first;
  while (b < run.end()) {
    const int rank = holder(b);
    if (rank == 0) {
      throw Error(fmt::format("mpi: block {} of {} is valid on no rank", b, array.label()));
    }
    backend::BlockRun from{b, 1};
    while (from.end() < run.end() && holds(rank, from.end())) ++from.count;
    const auto [begin, end] = array.extent_of(from);
    store_->fetch(rank, {id_, begin, end}, host, dims);
    b = from.end();
  }
}

int RankReplica::holder(std::int64_t block) const {
  std::lock_guard lock(mutex_);
  for (std::size_t r = 0; r < held_.size(); ++r) {
    if (held_[r][static_cast<std::size_t>(block)]) return static_cast<int>(r) + 1;
  }
  return 0;
}

bool RankReplica::holds(int rank, std::int64_t block) const {
  std::lock_guard lock(mutex_);
  return held_[static_cast<std::size_t>(rank - 1)][static_cast<std::size_t>(block)];
}

void RankReplica::add(int rank, backend::BlockRun run) {
  std::lock_guard lock(mutex_);
  const auto r = static_cast<std::size_t>(rank - 1);
  if (!kept_[r]) {
    kept_[r] = true;
    store_->memory().hold(bytes_);
  }
  std::fill(held_[r].begin() + run.first, held_[r].begin() + run.end(), true);
}

void RankReplica::make_only(int rank, backend::BlockRun run) {
  {
    std::lock_guard lock(mutex_);
    for (std::vector<bool>& held : held_) {
      std::fill(held.begin() + run.first, held.begin() + run.end(), false);
    }
  }
  add(rank, run);
}

RankReplica& RankStore::replica_of(backend::ArrayRecord& array) {
  if (backend::Replica* replica = array.replica(space())) {
    return static_cast<RankReplica&>(*replica);
  }
  {
    std::lock_guard lock(mutex_);
    std::erase_if(arrays_, [](const auto& held) { return held.expired(); });
    arrays_.push_back(array.weak_from_this());
  }
  return static_cast<RankReplica&>(
      array.attach(space(), std::make_unique<RankReplica>(shared_from_this(), array)));
}

std::vector<std::uint64_t> RankStore::take_forgotten() {
  std::lock_guard lock(mutex_);
  return std::exchange(forgotten_, {});
}

void RankStore::release_all() {
  if (!runtime_.serving()) return;
  std::vector<std::weak_ptr<backend::ArrayRecord>> arrays;
  {
    std::lock_guard lock(mutex_);
    arrays.swap(arrays_);
  }
  for (const auto& held : arrays) {
    if (const auto array = held.lock()) array->detach(space(), nullptr);
  }
  const std::vector<std::uint64_t> ids = take_forgotten();
  if (ids.empty()) return;
  const std::vector<std::uint8_t> command = encode_drop(ids);
  auto guard = runtime_.lock();
  for (int rank = 1; rank <= ranks_; ++rank) {
    send_bytes(command, rank, kCommandTag, kFetchTimeoutS, "dropping the arrays ranks keep");
  }
}

void RankStore::fetch(int rank, const KeptRows& rows, const backend::ArgumentBinding& host,
                      int dims) {
  std::vector<std::uint8_t> bytes(rows_bytes(host, dims, rows.begin, rows.end));
  if (bytes.size() > INT_MAX) {
    throw Error(
        fmt::format("mpi: {} bytes of rows in one fetch, more than one MPI message "
                    "carries ({})",
                    bytes.size(), INT_MAX));
  }
  std::vector<std::uint8_t> command;
  MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  {
    auto guard = runtime_.lock();
    const int tag = kFetchTag + next_tag_++ % kFetchTags;
    command = encode(FetchRequest{rows, tag});
    MPI_Irecv(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, rank, tag, MPI_COMM_WORLD,
              &requests[1]);
    MPI_Isend(command.data(), static_cast<int>(command.size()), MPI_BYTE, rank, kCommandTag,
              MPI_COMM_WORLD, &requests[0]);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(kFetchTimeoutS);
  Backoff backoff(kFetchPollMaxUs);
  for (;;) {
    int done = 0;
    {
      auto guard = runtime_.lock();
      MPI_Testall(2, requests, &done, MPI_STATUSES_IGNORE);
    }
    if (done != 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      runtime_.abort_all(fmt::format("rank {} sent no rows for {:.0f} s after rank 0 fetched them",
                                     rank, kFetchTimeoutS));
    }
    backoff.pause();
  }
  ByteReader reader(bytes);
  unpack_rows(host, dims, rows.begin, rows.end, reader);
}

std::uint64_t RankStore::next_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void RankStore::forget(std::uint64_t id, std::size_t bytes, int kept_on) {
  std::lock_guard lock(mutex_);
  forgotten_.push_back(id);
  for (int i = 0; i < kept_on; ++i) memory_.drop(bytes);
}

}  // namespace hetero::nodes::mpi

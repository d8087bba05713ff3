// Registered arrays: block geometry and the MSI states of their copies.
#include "hetero/backend/coherence.hpp"

#include <algorithm>
#include <atomic>
#include <bit>

#include <fmt/format.h>

#include "hetero/error.hpp"

namespace hetero {

std::uint64_t ArrayTransfers::total() const {
  std::uint64_t sum = 0;
  for (const std::uint64_t bytes : to_device) sum += bytes;
  for (const std::uint64_t bytes : to_host) sum += bytes;
  return sum;
}

namespace backend {
namespace {

constexpr std::size_t kBlockBytes = 64 * 1024;
constexpr std::int64_t kMinBlocks = 64;

// Elements per 1-D block: a power of two, at most 64 KiB of them, fewer when the array would
// otherwise have under kMinBlocks blocks.
std::int64_t block_elements(std::size_t element_bytes, std::int64_t elements) {
  const auto most = std::bit_floor(std::max<std::uint64_t>(1, kBlockBytes / element_bytes));
  const auto wanted = std::bit_ceil(static_cast<std::uint64_t>(
      std::max<std::int64_t>(1, (elements + kMinBlocks - 1) / kMinBlocks)));
  return static_cast<std::int64_t>(std::min(most, wanted));
}

}  // namespace

ArrayRecord::ArrayRecord(void* host, std::shared_ptr<void> storage, Shape shape, std::string label,
                         WriteBack policy)
    : host_(host),
      storage_(std::move(storage)),
      shape_(shape),
      label_(std::move(label)),
      policy_(policy) {
  const std::int64_t extent = shape_.dims == 1 ? shape_.width : shape_.height;
  extent_ = shape_.dims == 1 ? block_elements(shape_.element_bytes, shape_.width) : 1;
  blocks_ = (extent + extent_ - 1) / extent_;
  holders_.push_back(
      {kHost, nullptr, std::vector<State>(static_cast<std::size_t>(blocks_), State::shared)});
}

// Replicas go first: a node's replica may hold device memory the node frees on its own.
ArrayRecord::~ArrayRecord() = default;

std::size_t ArrayRecord::bytes() const {
  const std::int64_t elements =
      shape_.height > 1 ? shape_.pitch * (shape_.height - 1) + shape_.width : shape_.width;
  return static_cast<std::size_t>(elements) * shape_.element_bytes;
}

BlockRun ArrayRecord::blocks_of(std::int64_t begin, std::int64_t end) const {
  if (end <= begin) return {begin / extent_, 0};
  const std::int64_t first = begin / extent_;
  return {first, (end + extent_ - 1) / extent_ - first};
}

std::pair<std::int64_t, std::int64_t> ArrayRecord::extent_of(BlockRun run) const {
  const std::int64_t limit = shape_.dims == 1 ? shape_.width : shape_.height;
  return {run.first * extent_, std::min(limit, run.end() * extent_)};
}

std::size_t ArrayRecord::offset_of(BlockRun run) const {
  const std::int64_t begin = extent_of(run).first;
  const std::int64_t element = shape_.dims == 1 ? begin : begin * shape_.pitch;
  return static_cast<std::size_t>(element) * shape_.element_bytes;
}

std::size_t ArrayRecord::span_of(BlockRun run) const {
  const auto [begin, end] = extent_of(run);
  if (end <= begin) return 0;
  const std::int64_t elements =
      shape_.dims == 1 ? end - begin : (end - 1 - begin) * shape_.pitch + shape_.width;
  return static_cast<std::size_t>(elements) * shape_.element_bytes;
}

std::size_t ArrayRecord::payload_of(BlockRun run) const {
  const auto [begin, end] = extent_of(run);
  const std::int64_t elements = shape_.dims == 1 ? end - begin : (end - begin) * shape_.width;
  return static_cast<std::size_t>(std::max<std::int64_t>(0, elements)) * shape_.element_bytes;
}

ArrayRecord::Holder* ArrayRecord::holder(Space space) {
  for (Holder& h : holders_) {
    if (h.space == space) return &h;
  }
  return nullptr;
}

const ArrayRecord::Holder* ArrayRecord::holder(Space space) const {
  for (const Holder& h : holders_) {
    if (h.space == space) return &h;
  }
  return nullptr;
}

Replica* ArrayRecord::replica(Space space) const {
  std::lock_guard lock(mutex_);
  const Holder* h = holder(space);
  return h == nullptr ? nullptr : h->replica.get();
}

Replica& ArrayRecord::attach(Space space, std::unique_ptr<Replica> replica) {
  std::lock_guard lock(mutex_);
  if (holder(space) != nullptr) throw Error(fmt::format("{}: a space holds two replicas", label_));
  holders_.push_back(
      {space, std::move(replica), std::vector<State>(static_cast<std::size_t>(blocks_))});
  return *holders_.back().replica;
}

void ArrayRecord::detach(Space space, TraceLane* lane, TransferCause cause) {
  std::unique_ptr<Replica> dropped;  // freed after the lock is released
  std::lock_guard lock(mutex_);
  const auto it = std::find_if(holders_.begin(), holders_.end(),
                               [&](const Holder& h) { return h.space == space; });
  if (it == holders_.end() || it->space == kHost) return;
  write_back_locked(*it, all_blocks(), lane, cause);
  dropped = std::move(it->replica);
  holders_.erase(it);
}

void ArrayRecord::evict(Space space, BlockRun run, TraceLane* lane) {
  std::lock_guard lock(mutex_);
  Holder* from = holder(space);
  if (from == nullptr || space == kHost) return;
  write_back_locked(*from, run, lane, TransferCause::eviction);
  std::fill(from->states.begin() + run.first, from->states.begin() + run.end(), State::invalid);
}

// Copies the blocks of `run` that `from` alone holds back to the host, adjacent ones as one
// copy; they become shared in both.
void ArrayRecord::write_back_locked(Holder& from, BlockRun run, TraceLane* lane,
                                    TransferCause cause) {
  Holder& host = holders_.front();
  std::int64_t b = run.first;
  while (b < run.end()) {
    if (from.states[static_cast<std::size_t>(b)] != State::modified) {
      ++b;
      continue;
    }
    BlockRun stale{b, 0};
    while (stale.end() < run.end() &&
           from.states[static_cast<std::size_t>(stale.end())] == State::modified) {
      ++stale.count;
    }
    const std::int64_t begin = lane != nullptr ? lane->now_ns() : 0;
    from.replica->copy_to_host(*this, stale);
    const std::size_t moved = payload_of(stale);
    transfers_.to_host[static_cast<std::size_t>(cause)] += moved;
    if (lane != nullptr) {
      lane->copy(EventKind::copy_to_host, cause,
                 fmt::format("{} blocks {}-{} from {}", label_, stale.first, stale.end() - 1,
                             from.replica->space_name()),
                 moved, begin, lane->now_ns());
    }
    for (std::int64_t k = stale.first; k < stale.end(); ++k) {
      from.states[static_cast<std::size_t>(k)] = State::shared;
      host.states[static_cast<std::size_t>(k)] = State::shared;
    }
    modified_away_ -= stale.count;
    b = stale.end();
  }
}

void ArrayRecord::make_host_valid(BlockRun run, TraceLane* lane) {
  std::lock_guard lock(mutex_);
  if (modified_away_ == 0) return;
  for (std::size_t i = 1; i < holders_.size(); ++i) write_back_locked(holders_[i], run, lane);
}

std::vector<BlockRun> ArrayRecord::claim_for_read(Space space, BlockRun run, TraceLane* lane) {
  std::lock_guard lock(mutex_);
  Holder* reader = holder(space);
  if (reader == nullptr) throw Error(fmt::format("{}: read in a space without a replica", label_));
  // A block stale here is either valid on the host or modified in one other space: write those
  // back first, adjacent blocks together.
  for (Holder& other : holders_) {
    if (&other != reader && other.replica != nullptr) write_back_locked(other, run, lane);
  }
  std::vector<BlockRun> stale;
  for (std::int64_t b = run.first; b < run.end(); ++b) {
    State& state = reader->states[static_cast<std::size_t>(b)];
    if (state != State::invalid) continue;
    state = State::shared;
    if (!stale.empty() && stale.back().end() == b) {
      ++stale.back().count;
    } else {
      stale.push_back({b, 1});
    }
  }
  return stale;
}

void ArrayRecord::mark_written(Space space, BlockRun run) {
  std::lock_guard lock(mutex_);
  for (Holder& h : holders_) {
    // The host's copy is its home: written there, it is simply the valid one.
    const State state =
        h.space != space ? State::invalid : (space == kHost ? State::shared : State::modified);
    for (std::int64_t b = run.first; b < run.end(); ++b) {
      State& current = h.states[static_cast<std::size_t>(b)];
      if (h.space != kHost)
        modified_away_ += (state == State::modified) - (current == State::modified);
      current = state;
    }
  }
}

std::size_t ArrayRecord::resident_bytes(Space space, BlockRun run) const {
  std::lock_guard lock(mutex_);
  const Holder* h = holder(space);
  if (h == nullptr) return 0;
  std::size_t bytes = 0;
  for (std::int64_t b = run.first; b < run.end(); ++b) {
    if (h->states[static_cast<std::size_t>(b)] != State::invalid) bytes += payload_of({b, 1});
  }
  return bytes;
}

void ArrayRecord::count(EventKind direction, TransferCause cause, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  auto& totals = direction == EventKind::copy_to_host ? transfers_.to_host : transfers_.to_device;
  totals[static_cast<std::size_t>(cause)] += bytes;
}

ArrayTransfers ArrayRecord::transfers() const {
  std::lock_guard lock(mutex_);
  return transfers_;
}

void ArrayRecord::begin_host_access(bool writing) {
  std::lock_guard lock(mutex_);
  if (pending_writers_ > 0) {
    throw UsageError(fmt::format(
        "{}: a submitted run writes this array; wait() for it before acquiring it", label_));
  }
  if (host_writer_ || (writing && host_readers_ > 0)) {
    throw UsageError(fmt::format("{}: the host already holds it {}; release that access first",
                                 label_, host_writer_ ? "for writing" : "for reading"));
  }
  if (writing) {
    host_writer_ = true;
  } else {
    ++host_readers_;
  }
}

void ArrayRecord::end_host_access(bool writing) {
  std::lock_guard lock(mutex_);
  if (writing) {
    host_writer_ = false;
  } else {
    --host_readers_;
  }
}

void ArrayRecord::check_no_host_access(bool writing, const std::string& what) const {
  std::lock_guard lock(mutex_);
  if (host_writer_ || (writing && host_readers_ > 0)) {
    throw UsageError(fmt::format(
        "{}: {} is acquired by the host {}; release it before a kernel {} it", what, label_,
        host_writer_ ? "for writing" : "for reading", writing ? "writes" : "reads"));
  }
}

void ArrayRecord::add_pending_writer(int delta) {
  std::lock_guard lock(mutex_);
  pending_writers_ += delta;
}

std::string next_array_label() {
  static std::atomic<int> next{1};
  return fmt::format("array {}", next.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace backend
}  // namespace hetero

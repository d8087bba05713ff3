// When runs start: data conflicts in order, nodes first come first served.
#include "core/run_scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "hetero/error.hpp"

namespace hetero::detail {

bool Footprint::conflicts_with(const Footprint& other) const {
  for (const Use& mine : uses) {
    for (const Use& theirs : other.uses) {
      const bool overlap = mine.begin < theirs.end && theirs.begin < mine.end;
      if (overlap && (mine.writes || theirs.writes)) return true;
    }
  }
  return false;
}

Footprint footprint_of(const backend::Launch& launch) {
  Footprint footprint;
  for (const backend::ArgumentBinding& argument : launch.arguments) {
    if (!argument.is_array) continue;
    if (argument.reduction) {
      const auto result = reinterpret_cast<std::uintptr_t>(argument.reduction->result);
      footprint.uses.push_back({result, result + argument.element_bytes, true});
      continue;
    }
    if (argument.data == nullptr) continue;
    const auto first = reinterpret_cast<std::uintptr_t>(argument.data);
    footprint.uses.push_back(
        {first, first + argument.bytes(), backend::writes_slice(argument.access)});
  }
  return footprint;
}

std::vector<bool> node_mask(std::span<const std::size_t> named, std::size_t count) {
  if (named.empty()) return std::vector<bool>(count, true);
  std::vector<bool> mask(count, false);
  for (const std::size_t index : named) {
    if (index >= count) {
      throw UsageError(fmt::format(
          "the run names node {}, but the runtime has {} node{} (0 to {}); name nodes by their "
          "index in Runtime::nodes()",
          index, count, count == 1 ? "" : "s", count - 1));
    }
    mask[index] = true;
  }
  return mask;
}

RunScheduler::RunScheduler(std::size_t nodes) : busy_(nodes, false) {}

RunScheduler::~RunScheduler() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return entries_.empty(); });
  stopping_ = true;
  lock.unlock();
  changed_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

RunScheduler::Ticket RunScheduler::enter(Footprint footprint, std::vector<bool> nodes,
                                         std::function<void()> body) {
  std::lock_guard lock(mutex_);
  nodes.resize(busy_.size(), false);
  const Ticket ticket = next_ticket_++;
  entries_.push_back({ticket, std::move(footprint), std::move(nodes), std::move(body), false});
  start_ready_locked(0);
  return ticket;
}

void RunScheduler::wait_to_start(Ticket ticket) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return started_locked(ticket); });
}

void RunScheduler::finish(Ticket ticket) {
  std::lock_guard lock(mutex_);
  finish_locked(ticket, 0);
}

bool RunScheduler::started(Ticket ticket) const {
  std::lock_guard lock(mutex_);
  return started_locked(ticket);
}

bool RunScheduler::started_locked(Ticket ticket) const {
  const auto entry = std::find_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return e.ticket == ticket; });
  return entry == entries_.end() || entry->started;
}

void RunScheduler::finish_locked(Ticket ticket, std::size_t spare_threads) {
  const auto entry = std::find_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return e.ticket == ticket; });
  if (entry == entries_.end()) return;
  for (std::size_t node = 0; node < busy_.size(); ++node) {
    if (entry->nodes[node]) busy_[node] = false;
  }
  entries_.erase(entry);
  start_ready_locked(spare_threads);
}

bool RunScheduler::can_start_locked(std::size_t index, const std::vector<bool>& wanted) const {
  const Entry& entry = entries_[index];
  for (std::size_t node = 0; node < wanted.size(); ++node) {
    if (entry.nodes[node] && wanted[node]) return false;
  }
  for (std::size_t earlier = 0; earlier < index; ++earlier) {
    if (entries_[earlier].footprint.conflicts_with(entry.footprint)) return false;
  }
  return true;
}

void RunScheduler::start_ready_locked(std::size_t spare_threads) {
  std::vector<bool> wanted = busy_;  // nodes a run further down the line cannot take
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    Entry& entry = entries_[i];
    if (entry.started) continue;
    const bool start = can_start_locked(i, wanted);
    for (std::size_t node = 0; node < wanted.size(); ++node) {
      if (!entry.nodes[node]) continue;
      wanted[node] = true;
      if (start) busy_[node] = true;
    }
    if (!start) continue;
    entry.started = true;
    if (entry.body) bodies_.push_back({entry.ticket, std::move(entry.body)});
  }
  while (bodies_.size() > idle_threads_ + starting_threads_ + spare_threads) {
    ++starting_threads_;  // it takes a body once it holds the lock
    threads_.emplace_back([this] { serve(); });
  }
  changed_.notify_all();
}

void RunScheduler::serve() {
  std::unique_lock lock(mutex_);
  --starting_threads_;
  for (;;) {
    ++idle_threads_;
    changed_.wait(lock, [&] { return stopping_ || !bodies_.empty(); });
    --idle_threads_;
    if (bodies_.empty()) return;  // stopping: every run has finished
    Ready next = std::move(bodies_.front());
    bodies_.pop_front();
    lock.unlock();
    next.body();
    lock.lock();
    finish_locked(next.ticket, 1);
  }
}

}  // namespace hetero::detail

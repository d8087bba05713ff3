// Error type thrown by hetero's high-level API: one line a person can act on.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace hetero {

/// Every failure hetero reports to its caller. what() is a single line that says what was
/// wrong and what to do about it.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A request that names something unsupported or out of range (exit status 2 in the CLI).
class UsageError : public Error {
 public:
  using Error::Error;
};

/// A run that was stopped on request (SIGINT, SIGTERM) before it finished.
class Cancelled : public Error {
 public:
  using Error::Error;
};

/// A memory space could not provide the bytes asked for: its cap was reached or the device ran
/// out. Device nodes catch it to compute a tile in smaller pieces.
class OutOfMemory : public Error {
 public:
  OutOfMemory(const std::string& message, std::uint64_t requested)
      : Error(message), requested_(requested) {}
  std::uint64_t requested() const { return requested_; }

 private:
  std::uint64_t requested_;
};

}  // namespace hetero

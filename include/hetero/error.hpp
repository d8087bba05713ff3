// Error type thrown by hetero's high-level API: one line a person can act on.
#pragma once

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

}  // namespace hetero

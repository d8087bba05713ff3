// Where an output flag writes: a file written whole or not at all (OutputFile), or stdout for
// "-". Every output flag of the tool (--json, --trace, --csv) goes through it.
#pragma once

#include <initializer_list>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/output.hpp"

namespace hetero::cli {

class Output {
 public:
  /// Opens the file now (an unwritable path fails before any work); "-" is stdout.
  explicit Output(const std::optional<std::string>& path)
      : wanted_(path.has_value()), to_stdout_(path && *path == "-") {
    if (wanted_ && !to_stdout_) file_ = std::make_unique<OutputFile>(*path);
  }
  explicit operator bool() const { return wanted_; }
  bool to_stdout() const { return to_stdout_; }
  std::ostream& stream() { return file_ ? file_->stream() : std::cout; }
  /// The file is renamed into place; stdout is flushed.
  void commit() {
    if (file_) {
      file_->commit();
    } else {
      std::cout.flush();
    }
  }

  /// Throws UsageError when more than one of `flags` (name, path) asks for stdout: their
  /// contents would mix.
  static void check_one_stdout(
      std::initializer_list<std::pair<const char*, const std::optional<std::string>*>> flags) {
    const char* first = nullptr;
    for (const auto& [name, path] : flags) {
      if (!*path || **path != "-") continue;
      if (first != nullptr) {
        throw UsageError(fmt::format("{} and {} both ask for stdout ('-'); give one of them a file",
                                     first, name));
      }
      first = name;
    }
  }

 private:
  bool wanted_ = false, to_stdout_ = false;
  std::unique_ptr<OutputFile> file_;
};

}  // namespace hetero::cli

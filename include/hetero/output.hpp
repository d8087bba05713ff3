// Output files written whole or not at all, and the PNG rendering of a job's counts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>

namespace hetero {

/// A file written to a temporary name beside its destination and renamed over it by commit().
/// The constructor fails early (UsageError) when the destination cannot be written; a file
/// never committed is removed, so no partial output is ever left behind.
class OutputFile {
 public:
  explicit OutputFile(std::filesystem::path destination);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::ofstream& stream() { return stream_; }
  const std::filesystem::path& destination() const { return destination_; }
  /// Flushes, closes and renames the file into place; throws Error on a write failure.
  void commit();

 private:
  std::filesystem::path destination_, temporary_;
  std::ofstream stream_;
  bool committed_ = false;
};

/// Encodes counts as an 8-bit RGB PNG: points that never escaped are black, the rest are
/// coloured by a smooth map of log(count).
void write_png(std::ostream& out, std::span<const std::uint32_t> counts, std::int64_t width,
               std::int64_t height, std::uint32_t max_iter);

}  // namespace hetero

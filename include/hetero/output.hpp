// Output files written whole or not at all, and the PNG rendering of a job's counts.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
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
  int unfinished_slot_ = -1;  // where remove_unfinished_outputs() finds the temporary file
};

/// Removes the temporary file of every OutputFile not yet committed or destroyed. Only
/// async-signal-safe calls (unlink): for a signal handler that ends the process at once.
void remove_unfinished_outputs() noexcept;

/// The colour of a pixel with this count: black where it never escaped (count >= max_iter),
/// else a palette through deep blue, white and amber indexed by log(count + 1) / log(max_iter + 1).
std::array<std::uint8_t, 3> colour_of(std::uint32_t count, std::uint32_t max_iter);

/// Encodes an 8-bit RGB PNG whose pixel i (row-major) has the colour `colour(i)`. Strips of rows
/// are encoded on several threads at once: `colour` is called from them, for different pixels.
void write_rgb_png(std::ostream& out, std::int64_t width, std::int64_t height,
                   const std::function<std::array<std::uint8_t, 3>(std::int64_t)>& colour);

/// Encodes a scalar field (e.g. temperatures) as a PNG: its range mapped from deep blue (the
/// lowest value) through white to amber (the highest).
void write_field_png(std::ostream& out, std::span<const float> field, std::int64_t width,
                     std::int64_t height);

/// Encodes counts as an 8-bit RGB PNG, each pixel coloured by colour_of().
void write_png(std::ostream& out, std::span<const std::uint32_t> counts, std::int64_t width,
               std::int64_t height, std::uint32_t max_iter);

}  // namespace hetero

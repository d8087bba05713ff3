// Output files that appear whole or not at all, and PNG encoding of counts.
#include <unistd.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "core/host_info.hpp"
#include "hetero/error.hpp"
#include "hetero/output.hpp"

namespace hetero {
namespace {

// The temporary files of OutputFiles in progress, in slots a signal handler can read: a slot's
// path is complete before `used` is set, and `used` is cleared before the path changes.
struct UnfinishedSlot {
  std::atomic<bool> used{false};
  std::array<char, 4096> path{};
};
std::array<UnfinishedSlot, 16> g_unfinished;
static_assert(std::atomic<bool>::is_always_lock_free);

// Records `temporary` in a free slot; returns the slot, or -1 when none is free (or the path is
// too long), in which case a process ended by a second signal may leave that file behind.
int remember_unfinished(const std::filesystem::path& temporary) {
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  const std::string& text = temporary.native();
  for (std::size_t i = 0; i < g_unfinished.size(); ++i) {
    UnfinishedSlot& slot = g_unfinished[i];
    if (slot.used.load(std::memory_order_acquire) || text.size() >= slot.path.size()) continue;
    std::memcpy(slot.path.data(), text.c_str(), text.size() + 1);
    slot.used.store(true, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void forget_unfinished(int slot) {
  if (slot >= 0) g_unfinished[static_cast<std::size_t>(slot)].used.store(false);
}

std::filesystem::path temporary_for(const std::filesystem::path& destination) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path temporary = destination;
  temporary += fmt::format(".tmp-{}-{}", ::getpid(), counter.fetch_add(1));
  return temporary;
}

}  // namespace

void remove_unfinished_outputs() noexcept {
  for (UnfinishedSlot& slot : g_unfinished) {
    if (slot.used.load(std::memory_order_acquire)) ::unlink(slot.path.data());
  }
}

OutputFile::OutputFile(std::filesystem::path destination)
    : destination_(std::move(destination)), temporary_(temporary_for(destination_)) {
  std::error_code error;
  if (std::filesystem::is_directory(destination_, error)) {
    throw UsageError(fmt::format("cannot write '{}': it is a directory; give a file name",
                                 destination_.string()));
  }
  unfinished_slot_ = remember_unfinished(temporary_);
  stream_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!stream_) {
    forget_unfinished(std::exchange(unfinished_slot_, -1));
    const std::filesystem::path folder =
        destination_.has_parent_path() ? destination_.parent_path() : ".";
    throw UsageError(fmt::format("cannot write '{}': {} (check that '{}' exists and is writable)",
                                 destination_.string(), std::strerror(errno), folder.string()));
  }
}

OutputFile::~OutputFile() {
  forget_unfinished(unfinished_slot_);
  if (committed_) return;
  stream_.close();
  std::error_code ignored;
  std::filesystem::remove(temporary_, ignored);
}

void OutputFile::commit() {
  stream_.flush();
  const bool written = static_cast<bool>(stream_);
  stream_.close();
  std::error_code error;
  if (!written || stream_.fail()) {
    std::filesystem::remove(temporary_, error);
    throw Error(fmt::format("writing '{}' failed (disk full?); nothing was written",
                            destination_.string()));
  }
  std::filesystem::rename(temporary_, destination_, error);
  if (error) {
    std::filesystem::remove(temporary_, error);
    throw Error(fmt::format("cannot move the output into '{}': {}", destination_.string(),
                            error.message()));
  }
  committed_ = true;
  forget_unfinished(std::exchange(unfinished_slot_, -1));
}

namespace {

using Rgb = std::array<std::uint8_t, 3>;

// A smooth palette through deep blue, white and amber, indexed by t in [0, 1].
Rgb palette(double t) {
  static constexpr std::array<std::array<double, 3>, 5> kStops{
      {{0, 7, 100}, {32, 107, 203}, {237, 255, 255}, {255, 170, 0}, {0, 2, 0}}};
  const double scaled = std::clamp(t, 0.0, 1.0) * (kStops.size() - 1);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(scaled), kStops.size() - 2);
  const double f = scaled - static_cast<double>(i);
  Rgb rgb{};
  for (std::size_t c = 0; c < 3; ++c) {
    rgb[c] = static_cast<std::uint8_t>(
        std::lround(kStops[i][c] + f * (kStops[i + 1][c] - kStops[i][c])));
  }
  return rgb;
}

// PNG is written here, not through libpng: the image is cut into strips of rows, each deflated
// on a thread of its own as one part of a single zlib stream (every part but the last ends on a
// full flush, which leaves it byte-aligned; the Adler-32 sums are combined), the way pigz does.
// The decoded picture is the same; writing it takes a fraction of the time.
constexpr int kPngLevel = 1;  // zlib's fastest: measured best time for a size close to level 6's
constexpr std::int64_t kMinStripRows = 64;
constexpr std::int64_t kBatchBytes = 256 * 1024;  // rows filled and deflated at a time

void put_be32(std::string& bytes, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<char>((value >> shift) & 0xffU));
  }
}

void write_chunk(std::ostream& out, const char* type, std::string_view data) {
  std::string head;
  put_be32(head, static_cast<std::uint32_t>(data.size()));
  head.append(type, 4);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(type), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  std::string tail;
  put_be32(tail, static_cast<std::uint32_t>(crc));
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.write(tail.data(), static_cast<std::streamsize>(tail.size()));
}

// One strip of rows, filtered (filter byte 0 before each row) and deflated as a raw part of the
// image's zlib stream.
struct Strip {
  std::int64_t first = 0, rows = 0;
  bool last = false;
  std::string deflated;
  uLong adler = 1;
  std::size_t raw_bytes = 0;
};

// Fills row y's width * 3 RGB bytes.
using RowFiller = std::function<void(std::int64_t y, std::uint8_t* rgb)>;

// Rows go through a small buffer, filled, summed and deflated while they are in cache.
void deflate_strip(Strip& strip, std::int64_t width, const RowFiller& fill) {
  const std::size_t row_bytes = static_cast<std::size_t>(width) * 3 + 1;
  const std::int64_t batch =
      std::max<std::int64_t>(1, kBatchBytes / static_cast<std::int64_t>(row_bytes));
  std::vector<Bytef> raw(row_bytes * static_cast<std::size_t>(std::min(batch, strip.rows)));
  strip.raw_bytes = row_bytes * static_cast<std::size_t>(strip.rows);
  z_stream stream{};
  if (deflateInit2(&stream, kPngLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("PNG encoding failed: zlib cannot start");
  }
  strip.deflated.resize(deflateBound(&stream, static_cast<uLong>(strip.raw_bytes)) + 16);
  stream.next_out = reinterpret_cast<Bytef*>(strip.deflated.data());
  stream.avail_out = static_cast<uInt>(strip.deflated.size());
  bool done = true;
  for (std::int64_t first = 0; first < strip.rows && done; first += batch) {
    const std::int64_t rows = std::min(batch, strip.rows - first);
    for (std::int64_t r = 0; r < rows; ++r) {
      Bytef* row = raw.data() + static_cast<std::size_t>(r) * row_bytes;
      row[0] = 0;  // filter: none (measured fastest at level 1, Sub and RLE included)
      fill(strip.first + first + r, row + 1);
    }
    const auto bytes = static_cast<uInt>(row_bytes * static_cast<std::size_t>(rows));
    strip.adler = adler32(strip.adler, raw.data(), bytes);
    stream.next_in = raw.data();
    stream.avail_in = bytes;
    const bool end = first + rows == strip.rows;
    const int flush = !end ? Z_NO_FLUSH : strip.last ? Z_FINISH : Z_FULL_FLUSH;
    const int status = deflate(&stream, flush);
    done = stream.avail_in == 0 && (flush == Z_FINISH ? status == Z_STREAM_END : status == Z_OK);
  }
  strip.deflated.resize(stream.total_out);
  deflateEnd(&stream);
  if (!done) throw Error("PNG encoding failed: zlib could not deflate a strip");
}

}  // namespace

std::array<std::uint8_t, 3> colour_of(std::uint32_t count, std::uint32_t max_iter) {
  if (count >= max_iter) return {0, 0, 0};
  return palette(std::log(static_cast<double>(count) + 1.0) /
                 std::log(static_cast<double>(max_iter) + 1.0));
}

namespace {

// The PNG of rows `fill` gives, its strips encoded on threads of their own.
void write_rgb_rows(std::ostream& out, std::int64_t width, std::int64_t height,
                    const RowFiller& fill) {
  if (width <= 0 || height <= 0) throw Error("write_png: an image needs pixels");
  if (width > 0x7fffffff || height > 0x7fffffff) {
    throw UsageError("the image is too large for PNG (2^31-1 pixels per side at most)");
  }
  // A strip's raw bytes must fit zlib's 32-bit counts: at most 2^30 of them.
  const std::int64_t row_bytes = width * 3 + 1;
  const std::int64_t most_rows = std::max<std::int64_t>(1, (std::int64_t{1} << 30) / row_bytes);
  const std::int64_t threads = std::max(1, detail::host_hardware_threads());
  const std::int64_t by_threads = std::clamp<std::int64_t>(height / kMinStripRows, 1, threads);
  const std::int64_t count = std::max(by_threads, (height + most_rows - 1) / most_rows);
  std::vector<Strip> strips(static_cast<std::size_t>(count));
  for (std::int64_t k = 0; k < count; ++k) {
    Strip& strip = strips[static_cast<std::size_t>(k)];
    strip.first = height * k / count;
    strip.rows = height * (k + 1) / count - strip.first;
    strip.last = k + 1 == count;
  }
  std::vector<std::exception_ptr> failures(strips.size());
  {
    std::vector<std::jthread> workers;
    for (std::size_t k = 0; k < strips.size(); ++k) {
      workers.emplace_back([&, k] {
        try {
          deflate_strip(strips[k], width, fill);
        } catch (...) {
          failures[k] = std::current_exception();
        }
      });
    }
  }
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }

  static constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";
  out.write(kSignature, 8);
  std::string header;
  put_be32(header, static_cast<std::uint32_t>(width));
  put_be32(header, static_cast<std::uint32_t>(height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, filters, no interlace
  write_chunk(out, "IHDR", header);
  // The zlib stream: its header (deflate, 32 KiB window, fastest), the strips, the combined sum.
  uLong adler = strips.front().adler;
  for (std::size_t k = 1; k < strips.size(); ++k) {
    adler = adler32_combine(adler, strips[k].adler, static_cast<z_off_t>(strips[k].raw_bytes));
  }
  for (std::size_t k = 0; k < strips.size(); ++k) {
    std::string data = k == 0 ? std::string("\x78\x01", 2) : std::string();
    data += strips[k].deflated;
    if (k + 1 == strips.size()) put_be32(data, static_cast<std::uint32_t>(adler));
    write_chunk(out, "IDAT", data);
  }
  write_chunk(out, "IEND", {});
  if (!out) throw Error("PNG encoding failed: the output stream refused the bytes");
}

}  // namespace

void write_rgb_png(std::ostream& out, std::int64_t width, std::int64_t height,
                   const std::function<std::array<std::uint8_t, 3>(std::int64_t)>& colour) {
  write_rgb_rows(out, width, height, [&](std::int64_t y, std::uint8_t* rgb) {
    for (std::int64_t x = 0; x < width; ++x) {
      const std::array<std::uint8_t, 3> pixel = colour(y * width + x);
      std::memcpy(rgb + static_cast<std::size_t>(x) * 3, pixel.data(), 3);
    }
  });
}

void write_png(std::ostream& out, std::span<const std::uint32_t> counts, std::int64_t width,
               std::int64_t height, std::uint32_t max_iter) {
  if (width <= 0 || height <= 0 || counts.size() != static_cast<std::size_t>(width * height)) {
    throw Error("write_png: counts do not match the image size");
  }
  // One colour per count, computed once (a logarithm each): counts past max-iter are black too.
  const std::size_t distinct =
      static_cast<std::size_t>(std::min<std::uint64_t>(max_iter, std::uint64_t{1} << 24)) + 1;
  std::vector<std::array<std::uint8_t, 3>> colours(distinct);
  for (std::size_t count = 0; count < distinct; ++count) {
    colours[count] = colour_of(static_cast<std::uint32_t>(count), max_iter);
  }
  write_rgb_rows(out, width, height, [&](std::int64_t y, std::uint8_t* rgb) {
    const std::uint32_t* row = counts.data() + y * width;
    for (std::int64_t x = 0; x < width; ++x) {
      const std::uint32_t count = row[x];
      std::memcpy(rgb + 3 * x,
                  (count < distinct ? colours[count] : colour_of(count, max_iter)).data(), 3);
    }
  });
}

void write_field_png(std::ostream& out, std::span<const float> field, std::int64_t width,
                     std::int64_t height) {
  if (width <= 0 || height <= 0 || field.size() != static_cast<std::size_t>(width * height)) {
    throw Error("write_field_png: the field does not match the image size");
  }
  const auto [low, high] = std::minmax_element(field.begin(), field.end());
  const double span = *high > *low ? static_cast<double>(*high - *low) : 1.0;
  // The palette's first four fifths: deep blue (cold) through white to amber (hot).
  write_rgb_png(out, width, height, [&, lowest = *low](std::int64_t i) {
    return palette(0.8 * (static_cast<double>(field[static_cast<std::size_t>(i)] - lowest) / span));
  });
}

}  // namespace hetero

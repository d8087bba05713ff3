// Output files that appear whole or not at all, and PNG encoding of counts.
#include <unistd.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <png.h>

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

void write_to_stream(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::ostream*>(png_get_io_ptr(png));
  out->write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(length));
}

void flush_stream(png_structp png) {
  static_cast<std::ostream*>(png_get_io_ptr(png))->flush();
}

[[noreturn]] void on_png_error(png_structp /*png*/, png_const_charp message) {
  throw Error(fmt::format("PNG encoding failed: {}", message));
}

}  // namespace

std::array<std::uint8_t, 3> colour_of(std::uint32_t count, std::uint32_t max_iter) {
  if (count >= max_iter) return {0, 0, 0};
  return palette(std::log(static_cast<double>(count) + 1.0) /
                 std::log(static_cast<double>(max_iter) + 1.0));
}

void write_rgb_png(std::ostream& out, std::int64_t width, std::int64_t height,
                   const std::function<std::array<std::uint8_t, 3>(std::int64_t)>& colour) {
  if (width <= 0 || height <= 0) throw Error("write_png: an image needs pixels");
  if (width > 0x7fffffff || height > 0x7fffffff) {
    throw UsageError("the image is too large for PNG (2^31-1 pixels per side at most)");
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, on_png_error, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    throw Error("PNG encoding failed: out of memory");
  }
  struct Guard {
    png_structp* png;
    png_infop* info;
    ~Guard() { png_destroy_write_struct(png, info); }
  } guard{&png, &info};

  png_set_write_fn(png, &out, write_to_stream, flush_stream);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);

  std::vector<png_byte> row(static_cast<std::size_t>(width) * 3);
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      const Rgb rgb = colour(y * width + x);
      std::memcpy(&row[static_cast<std::size_t>(x) * 3], rgb.data(), 3);
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
}

void write_png(std::ostream& out, std::span<const std::uint32_t> counts, std::int64_t width,
               std::int64_t height, std::uint32_t max_iter) {
  if (width <= 0 || height <= 0 || counts.size() != static_cast<std::size_t>(width * height)) {
    throw Error("write_png: counts do not match the image size");
  }
  write_rgb_png(out, width, height, [&](std::int64_t i) {
    return colour_of(counts[static_cast<std::size_t>(i)], max_iter);
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

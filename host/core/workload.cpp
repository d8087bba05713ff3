// Presets, validation and axis construction of the Mandelbrot workload.
#include <sys/sysinfo.h>
#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "core/file_text.hpp"
#include "core/parse.hpp"
#include "hetero/error.hpp"
#include "hetero/workload.hpp"

namespace hetero {
namespace {

constexpr std::int64_t kMaxDimension = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kMaxIter = std::numeric_limits<std::int32_t>::max();

// The seed tutorial's plane: x1, x2, y1, y2 and its `--size 1000` (500 x 500 points).
constexpr Region kSeedRegion{-2.13, 0.77, -1.3, 1.3};
constexpr std::int64_t kSeedPoints = 500;
constexpr std::int64_t kSeedMaxIter = 1000;

// The whole set, square.
constexpr Region kFullRegion{-2.0, 0.5, -1.25, 1.25};
constexpr std::int64_t kDefaultSide = 1024;
constexpr std::int64_t kDefaultMaxIter = 1000;

std::string format_bytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
}

void check_finite(std::string_view what, double value) {
  if (!std::isfinite(value)) {
    throw UsageError(fmt::format("{} must be a finite number, got {}", what, value));
  }
}

std::int64_t check_dimension(std::string_view what, std::int64_t value) {
  if (value < 1 || value > kMaxDimension) {
    throw UsageError(fmt::format("{} must be from 1 to {}, got {}", what, kMaxDimension, value));
  }
  return value;
}

}  // namespace

std::string_view to_string(Precision precision) {
  return precision == Precision::fp32 ? "fp32" : "fp64";
}

std::string_view to_string(Mode mode) {
  return mode == Mode::exact ? "exact" : "fma";
}

Precision parse_precision(std::string_view text) {
  if (text == "fp32") return Precision::fp32;
  if (text == "fp64") return Precision::fp64;
  throw UsageError(fmt::format("unknown precision '{}': use fp32 or fp64", text));
}

Mode parse_mode(std::string_view text) {
  if (text == "exact") return Mode::exact;
  if (text == "fma") return Mode::fma;
  throw UsageError(fmt::format("unknown mode '{}': use exact or fma", text));
}

std::int64_t parse_integer(std::string_view what, std::string_view text, std::int64_t min,
                           std::int64_t max) {
  std::int64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  // One optional '+' (from_chars takes only '-'); a second sign after it is not a number.
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') ++first;
  const auto [end, error] = std::from_chars(first, last, value);
  if (text.empty() || error == std::errc::invalid_argument || end != last) {
    throw UsageError(
        fmt::format("{}: expected an integer from {} to {}, got '{}'", what, min, max, text));
  }
  if (error == std::errc::result_out_of_range || value < min || value > max) {
    throw UsageError(
        fmt::format("{}: {} is out of range; use an integer from {} to {}", what, text, min, max));
  }
  return value;
}

double parse_real(std::string_view what, std::string_view text) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  // One optional '+' (from_chars takes only '-'); a second sign after it is not a number.
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') ++first;
  const auto [end, error] = std::from_chars(first, last, value);
  if (text.empty() || error == std::errc::invalid_argument || end != last) {
    throw UsageError(fmt::format("{}: expected a number, got '{}'", what, text));
  }
  if (error == std::errc::result_out_of_range || !std::isfinite(value)) {
    throw UsageError(fmt::format("{}: expected a finite number, got '{}'", what, text));
  }
  return value;
}

std::uint64_t estimate_host_bytes(const JobSpec& spec, bool with_image) {
  // Saturating: 2^31-1 squared pixels at 7 bytes each overflows 64 bits.
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  const auto width = static_cast<std::uint64_t>(spec.width);
  const auto height = static_cast<std::uint64_t>(spec.height);
  const std::uint64_t per_pixel = sizeof(std::uint32_t) + (with_image ? 3 : 0);
  std::uint64_t pixels = 0, bytes = 0;
  if (__builtin_mul_overflow(width, height, &pixels) ||
      __builtin_mul_overflow(pixels, per_pixel, &bytes) ||
      __builtin_add_overflow(bytes, (width + height) * (8 + 4), &bytes)) {
    return kMax;
  }
  return bytes;
}

std::uint64_t available_host_bytes() {
  // A line "MemAvailable:   123456 kB".
  const std::string meminfo = detail::read_file_text("/proc/meminfo").value_or(std::string());
  constexpr std::string_view kKey = "MemAvailable:";
  if (const std::size_t at = meminfo.find(kKey); at != std::string::npos) {
    const char* first = meminfo.c_str() + at + kKey.size();
    while (*first == ' ') ++first;
    std::uint64_t kib = 0;
    const auto [end, error] = std::from_chars(first, meminfo.c_str() + meminfo.size(), kib);
    if (error == std::errc() && end != first) return kib * 1024;
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) {
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
  }
  return std::numeric_limits<std::uint64_t>::max();
}

bool fits_in_host_memory(std::uint64_t bytes) {
  // Free memory is available; MemAvailable's reserves are a small part of it.
  struct sysinfo info {};
  if (sysinfo(&info) == 0 && bytes <= info.freeram / 2 * info.mem_unit) return true;
  return bytes <= available_host_bytes();
}

JobSpec resolve_job(const JobRequest& request) {
  JobSpec spec;
  spec.precision = request.precision;
  spec.mode = request.mode;

  const bool has_center = request.center_x || request.center_y || request.view_width;
  if (has_center && !(request.center_x && request.center_y && request.view_width)) {
    throw UsageError("--center X,Y and --view-width W go together: give both");
  }
  if (has_center && request.region) {
    throw UsageError("give either --xmin/--xmax/--ymin/--ymax or --center/--view-width, not both");
  }
  std::string preset = request.preset;
  if (preset.empty()) preset = (request.region || has_center) ? "region" : "seed";
  if (preset != "region" && (request.region || has_center)) {
    throw UsageError(fmt::format(
        "preset '{}' fixes its own region: drop --preset or the region options", preset));
  }
  spec.preset = preset;

  if (preset == "seed") {
    spec.region = kSeedRegion;
    spec.rule = AxisRule::accumulated;
    spec.width = check_dimension("--width", request.width.value_or(kSeedPoints));
    spec.height = check_dimension("--height", request.height.value_or(kSeedPoints));
  } else if (preset == "full") {
    spec.region = kFullRegion;
    spec.width = check_dimension("--width", request.width.value_or(kDefaultSide));
    spec.height =
        check_dimension("--height", request.height.value_or(request.width.value_or(kDefaultSide)));
  } else if (preset == "region") {
    spec.width = check_dimension("--width", request.width.value_or(kDefaultSide));
    if (has_center) {
      check_finite("--center X", *request.center_x);
      check_finite("--center Y", *request.center_y);
      check_finite("--view-width", *request.view_width);
      if (!(*request.view_width > 0)) {
        throw UsageError(fmt::format("--view-width must be positive, got {}", *request.view_width));
      }
      spec.height = check_dimension("--height", request.height.value_or(spec.width));
      const double half_w = *request.view_width / 2;
      const double half_h =
          half_w * static_cast<double>(spec.height) / static_cast<double>(spec.width);
      spec.region = {*request.center_x - half_w, *request.center_x + half_w,
                     *request.center_y - half_h, *request.center_y + half_h};
    } else if (request.region) {
      spec.region = *request.region;
    } else {
      throw UsageError(
          "preset 'region' needs --xmin/--xmax/--ymin/--ymax or --center X,Y --view-width W");
    }
    const Region& r = spec.region;
    check_finite("--xmin", r.xmin);
    check_finite("--xmax", r.xmax);
    check_finite("--ymin", r.ymin);
    check_finite("--ymax", r.ymax);
    if (!(r.xmin < r.xmax)) {
      throw UsageError(fmt::format("--xmin ({}) must be less than --xmax ({})", r.xmin, r.xmax));
    }
    if (!(r.ymin < r.ymax)) {
      throw UsageError(fmt::format("--ymin ({}) must be less than --ymax ({})", r.ymin, r.ymax));
    }
    if (!std::isfinite(r.xmax - r.xmin) || !std::isfinite(r.ymax - r.ymin)) {
      throw UsageError("the region is too wide to represent: narrow the bounds");
    }
    if (!request.height && !has_center) {
      const double aspect = (r.ymax - r.ymin) / (r.xmax - r.xmin);
      const double rows = std::round(static_cast<double>(spec.width) * aspect);
      spec.height =
          static_cast<std::int64_t>(std::clamp(rows, 1.0, static_cast<double>(kMaxDimension)));
    } else if (request.height) {
      spec.height = check_dimension("--height", *request.height);
    }
  } else {
    throw UsageError(fmt::format("unknown preset '{}': use seed, full or region", preset));
  }

  const std::int64_t default_iter = preset == "seed" ? kSeedMaxIter : kDefaultMaxIter;
  const std::int64_t max_iter = request.max_iter.value_or(default_iter);
  if (max_iter < 1 || max_iter > kMaxIter) {
    throw UsageError(fmt::format("--max-iter must be from 1 to {}, got {}", kMaxIter, max_iter));
  }
  spec.max_iter = static_cast<std::uint32_t>(max_iter);

  const std::uint64_t needed = estimate_host_bytes(spec, /*with_image=*/false);
  if (!fits_in_host_memory(needed)) {
    throw UsageError(fmt::format(
        "a {}x{} image needs {} of memory but {} is available: lower --width/--height", spec.width,
        spec.height, format_bytes(needed), format_bytes(available_host_bytes())));
  }
  return spec;
}

Axes make_axes(const JobSpec& spec) {
  Axes axes;
  axes.xs.resize(static_cast<std::size_t>(spec.width));
  axes.ys.resize(static_cast<std::size_t>(spec.height));
  const Region& r = spec.region;
  if (spec.rule == AxisRule::accumulated) {
    // The tutorial: x_step = (x2 - x1) / size * 2 with size = 2 * points, then x += x_step.
    const double x_step = (r.xmax - r.xmin) / static_cast<double>(2 * spec.width) * 2;
    const double y_step = (r.ymin - r.ymax) / static_cast<double>(2 * spec.height) * 2;
    double x = r.xmin;
    for (double& value : axes.xs) {
      value = x;
      x += x_step;
    }
    double y = r.ymax;
    for (double& value : axes.ys) {
      value = y;
      y += y_step;
    }
  } else {
    const double dx = (r.xmax - r.xmin) / static_cast<double>(spec.width);
    const double dy = (r.ymax - r.ymin) / static_cast<double>(spec.height);
    for (std::size_t i = 0; i < axes.xs.size(); ++i) {
      axes.xs[i] = r.xmin + (static_cast<double>(i) + 0.5) * dx;
    }
    for (std::size_t j = 0; j < axes.ys.size(); ++j) {
      axes.ys[j] = r.ymax - (static_cast<double>(j) + 0.5) * dy;
    }
  }
  return axes;
}

}  // namespace hetero

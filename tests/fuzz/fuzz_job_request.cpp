// Fuzz target: hetero::resolve_job on a JobRequest built from command-line style text, and the
// memory estimate that guards it.
//
// Input: lines "key=value" with the keys of `hetero render` without their dashes: preset, xmin,
// xmax, ymin, ymax, center (X,Y), view-width, width, height, max-iter, precision, mode. Values are
// parsed as the CLI parses them (parse_integer over all of int64, parse_real, parse_precision,
// parse_mode); a later line overrides an earlier one; other lines are ignored. Contracts:
//   - building and resolving either succeeds or throws hetero::UsageError;
//   - a resolved spec has width and height in [1, 2^31-1], finite bounds with xmin < xmax and
//     ymin < ymax (and finite extents), max_iter in [1, 2^31-1], a known preset, the request's
//     own sizes, precision, mode and explicit region, and the seed grid only for the seed preset;
//   - the axes of a resolved spec with small sides are finite and ordered (x rising, y falling);
//   - for any width and height in [1, 2^31-1] the memory estimate covers at least the 4-byte
//     counts of every pixel, and never shrinks when the colour image is added (no wrap-around).
// No Job is constructed: a resolved spec may describe gigabytes.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/parse.hpp"
#include "fuzz_support.hpp"
#include "hetero/error.hpp"
#include "hetero/workload.hpp"

namespace {

using hetero::fuzz::check;

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMaxSide = std::numeric_limits<std::int32_t>::max();
// Axes are built (and checked) only for specs with at most this many columns plus rows.
constexpr std::int64_t kMaxAxesChecked = 1 << 14;

// The command-line options as text, before any parsing.
struct Options {
  std::optional<std::string> preset, xmin, xmax, ymin, ymax, center, view_width, width, height,
      max_iter, precision, mode;
};

Options read_options(std::string_view text) {
  Options options;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, equals);
    std::string value(line.substr(equals + 1));
    if (key == "preset") options.preset = std::move(value);
    if (key == "xmin") options.xmin = std::move(value);
    if (key == "xmax") options.xmax = std::move(value);
    if (key == "ymin") options.ymin = std::move(value);
    if (key == "ymax") options.ymax = std::move(value);
    if (key == "center") options.center = std::move(value);
    if (key == "view-width") options.view_width = std::move(value);
    if (key == "width") options.width = std::move(value);
    if (key == "height") options.height = std::move(value);
    if (key == "max-iter") options.max_iter = std::move(value);
    if (key == "precision") options.precision = std::move(value);
    if (key == "mode") options.mode = std::move(value);
  }
  return options;
}

std::optional<std::int64_t> integer(std::string_view flag, const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return hetero::parse_integer(flag, *text, kInt64Min, kInt64Max);
}

// The request `hetero render` builds from these options (host/cli/commands.cpp).
hetero::JobRequest make_request(const Options& options) {
  hetero::JobRequest request;
  request.preset = options.preset.value_or("");
  if (options.precision) request.precision = hetero::parse_precision(*options.precision);
  if (options.mode) request.mode = hetero::parse_mode(*options.mode);
  request.width = integer("--width", options.width);
  request.height = integer("--height", options.height);
  request.max_iter = integer("--max-iter", options.max_iter);
  const int bounds = (options.xmin ? 1 : 0) + (options.xmax ? 1 : 0) + (options.ymin ? 1 : 0) +
                     (options.ymax ? 1 : 0);
  if (bounds != 0 && bounds != 4) {
    throw hetero::UsageError("a region needs all four of --xmin, --xmax, --ymin and --ymax");
  }
  if (bounds == 4) {
    request.region = hetero::Region{
        hetero::parse_real("--xmin", *options.xmin), hetero::parse_real("--xmax", *options.xmax),
        hetero::parse_real("--ymin", *options.ymin), hetero::parse_real("--ymax", *options.ymax)};
  }
  if (options.center) {
    const std::size_t comma = options.center->find(',');
    if (comma == std::string::npos) throw hetero::UsageError("--center: expected X,Y");
    request.center_x = hetero::parse_real("--center X", options.center->substr(0, comma));
    request.center_y = hetero::parse_real("--center Y", options.center->substr(comma + 1));
  }
  if (options.view_width)
    request.view_width = hetero::parse_real("--view-width", *options.view_width);
  return request;
}

bool in_side_range(std::int64_t side) {
  return side >= 1 && side <= kMaxSide;
}

// The memory estimate for a width x height image, whether or not resolve_job accepts it.
void check_memory_estimate(std::int64_t width, std::int64_t height) {
  hetero::JobSpec spec;
  spec.width = width;
  spec.height = height;
  const auto counts_bytes = static_cast<unsigned __int128>(width) *
                            static_cast<unsigned __int128>(height) * sizeof(std::uint32_t);
  const std::uint64_t without_image = hetero::estimate_host_bytes(spec, /*with_image=*/false);
  const std::uint64_t with_image = hetero::estimate_host_bytes(spec, /*with_image=*/true);
  check(without_image >= counts_bytes,
        "estimate_host_bytes is below the bytes of the counts alone (it wrapped around)");
  check(with_image >= without_image,
        "estimate_host_bytes with the image is below the estimate without it (it wrapped around)");
}

void check_axes(const hetero::JobSpec& spec) {
  if (spec.width + spec.height > kMaxAxesChecked) return;
  const hetero::Axes axes = hetero::make_axes(spec);
  check(axes.xs.size() == static_cast<std::size_t>(spec.width), "make_axes: one x per column");
  check(axes.ys.size() == static_cast<std::size_t>(spec.height), "make_axes: one y per row");
  for (std::size_t i = 0; i < axes.xs.size(); ++i) {
    check(std::isfinite(axes.xs[i]), "make_axes: every x is finite");
    check(i == 0 || axes.xs[i - 1] <= axes.xs[i], "make_axes: x never decreases");
  }
  for (std::size_t j = 0; j < axes.ys.size(); ++j) {
    check(std::isfinite(axes.ys[j]), "make_axes: every y is finite");
    check(j == 0 || axes.ys[j - 1] >= axes.ys[j], "make_axes: y never increases (row 0 on top)");
  }
}

void check_spec(const hetero::JobRequest& request, const hetero::JobSpec& spec) {
  check(spec.preset == "seed" || spec.preset == "full" || spec.preset == "region",
        "resolve_job: the preset is a known one");
  check(request.preset.empty() || spec.preset == request.preset,
        "resolve_job: a named preset is kept");
  check((spec.rule == hetero::AxisRule::accumulated) == (spec.preset == "seed"),
        "resolve_job: the accumulated grid is the seed preset's only");
  check(in_side_range(spec.width) && in_side_range(spec.height),
        "resolve_job: width and height lie in [1, 2^31-1]");
  check(!request.width || *request.width == spec.width, "resolve_job: a given width is kept");
  check(!request.height || *request.height == spec.height, "resolve_job: a given height is kept");
  check(spec.max_iter >= 1 && spec.max_iter <= kMaxSide,
        "resolve_job: max_iter lies in [1, 2^31-1]");
  check(!request.max_iter || *request.max_iter == static_cast<std::int64_t>(spec.max_iter),
        "resolve_job: a given max_iter is kept");
  check(spec.precision == request.precision && spec.mode == request.mode,
        "resolve_job: precision and mode are kept");
  const hetero::Region& r = spec.region;
  check(std::isfinite(r.xmin) && std::isfinite(r.xmax) && std::isfinite(r.ymin) &&
            std::isfinite(r.ymax),
        "resolve_job: the bounds are finite");
  check(r.xmin < r.xmax && r.ymin < r.ymax, "resolve_job: xmin < xmax and ymin < ymax");
  check(std::isfinite(r.xmax - r.xmin) && std::isfinite(r.ymax - r.ymin),
        "resolve_job: the extents are finite");
  if (request.region) {
    const hetero::Region& asked = *request.region;
    check(r.xmin == asked.xmin && r.xmax == asked.xmax && r.ymin == asked.ymin &&
              r.ymax == asked.ymax,
          "resolve_job: an explicit region is kept");
  }
  if (request.center_x) {
    check(r.xmin <= *request.center_x && *request.center_x <= r.xmax &&
              r.ymin <= *request.center_y && *request.center_y <= r.ymax,
          "resolve_job: the centre lies in the region");
  }
  check_axes(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hetero::JobRequest request;
  try {
    request = make_request(read_options(hetero::fuzz::as_text(data, size)));
  } catch (const hetero::UsageError&) {
    return 0;  // a value the CLI rejects before resolving
  }
  if (request.width && request.height && in_side_range(*request.width) &&
      in_side_range(*request.height)) {
    check_memory_estimate(*request.width, *request.height);
  }
  try {
    const hetero::JobSpec spec = hetero::resolve_job(request);
    check_spec(request, spec);
  } catch (const hetero::UsageError&) {
    // a request resolve_job refuses, with its one-line reason
  }
  return 0;
}

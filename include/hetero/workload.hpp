// The Mandelbrot workload: precision, arithmetic mode, presets, regions and the job spec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hetero {

enum class Precision : std::uint8_t { fp32, fp64 };

/// exact: x' = (x*x - y*y) + cx, y' = (2*x)*y + cy with no contraction.
/// fma:   the same recurrence with fused multiply-adds written out explicitly.
enum class Mode : std::uint8_t { exact, fma };

std::string_view to_string(Precision precision);
std::string_view to_string(Mode mode);
/// Parse "fp32"/"fp64" and "exact"/"fma"; throw UsageError naming the valid values otherwise.
Precision parse_precision(std::string_view text);
Mode parse_mode(std::string_view text);

/// A rectangle of the complex plane: x in [xmin, xmax], y in [ymin, ymax].
struct Region {
  double xmin = 0, xmax = 0, ymin = 0, ymax = 0;
};

/// How the host builds the axis arrays the kernels read.
enum class AxisRule : std::uint8_t {
  /// Pixel centres: x[i] = xmin + (i + 0.5) * (xmax - xmin) / width, rows from ymax down.
  pixel_centres,
  /// The seed tutorial's grid: x[0] = xmin, x[i+1] = x[i] + step (repeated addition), and
  /// y[0] = ymax, y[j+1] = y[j] + ystep with a negative ystep.
  accumulated,
};

/// What a user asks for; every field is optional and falls back to the preset's default.
struct JobRequest {
  std::string preset;            ///< "seed", "full" or "region"; empty: region if given, else seed.
  std::optional<Region> region;  ///< explicit bounds (--xmin/--xmax/--ymin/--ymax)
  /// --center X,Y --view-width W: the region centred on (X, Y), W wide in the complex plane.
  std::optional<double> center_x, center_y, view_width;
  std::optional<std::int64_t> width, height, max_iter;
  Precision precision = Precision::fp64;
  Mode mode = Mode::exact;
};

/// A validated job: every field is in range and the image fits in memory.
struct JobSpec {
  std::string preset;
  Region region;
  AxisRule rule = AxisRule::pixel_centres;
  std::int64_t width = 0, height = 0;
  std::uint32_t max_iter = 0;
  Precision precision = Precision::fp64;
  Mode mode = Mode::exact;

  std::int64_t pixels() const { return width * height; }
};

/// Resolve a request against its preset and validate it: sizes in [1, 2^31-1], finite ordered
/// bounds, max_iter in [1, 2^31-1], and an image that fits in available memory. Throws
/// UsageError with a one-line message otherwise.
JobSpec resolve_job(const JobRequest& request);

/// Bytes of host memory a run of `spec` needs (counts, axes, and the colour image if
/// `with_image`), estimated before anything is allocated.
std::uint64_t estimate_host_bytes(const JobSpec& spec, bool with_image);

/// Bytes of memory available to this process now (MemAvailable, or physical memory).
std::uint64_t available_host_bytes();
/// Whether `bytes` fit in available_host_bytes(). Within half the free memory they do, which a
/// system call tells without reading /proc/meminfo (whose read costs more than a small job).
bool fits_in_host_memory(std::uint64_t bytes);

/// The axis arrays of a job, computed once on the host in double precision.
struct Axes {
  std::vector<double> xs;  ///< one per column
  std::vector<double> ys;  ///< one per row, row 0 at the top
};
Axes make_axes(const JobSpec& spec);

}  // namespace hetero

// A job (one workload over a 2-D index space), its tiles, and the checksum of its result.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hetero/workload.hpp"

namespace hetero {

/// A piece of a job: the row-major pixel range [begin, end). A multiple of the width starting
/// at a row boundary is a band of rows.
struct Tile {
  std::int64_t index = 0;  ///< position in the job's tile list
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

/// Splits [0, pixels) into tiles of `tile_pixels` (the last may be shorter).
std::vector<Tile> make_tiles(std::int64_t pixels, std::int64_t tile_pixels);

/// Read-only view of the axes in the job's precision, as kernels take it.
template <class Real>
struct AxesView {
  const Real* xs = nullptr;
  const Real* ys = nullptr;
  std::int64_t width = 0;
  std::int64_t height = 0;
};

/// A job ready to run: the validated spec and its host-computed axes in both precisions
/// (fp32 axes are the fp64 axes rounded once).
class Job {
 public:
  /// Throws UsageError, one line, for sides or max_iter outside [1, 2^31-1] or a region that is
  /// not finite and ordered (as resolve_job checks a request).
  explicit Job(JobSpec spec);

  const JobSpec& spec() const { return spec_; }
  std::int64_t width() const { return spec_.width; }
  std::int64_t height() const { return spec_.height; }
  std::int64_t pixels() const { return spec_.pixels(); }
  std::uint32_t max_iter() const { return spec_.max_iter; }
  Precision precision() const { return spec_.precision; }
  Mode mode() const { return spec_.mode; }

  AxesView<double> axes_fp64() const;
  AxesView<float> axes_fp32() const;
  template <class Real>
  AxesView<Real> axes() const {
    if constexpr (sizeof(Real) == sizeof(double)) {
      return axes_fp64();
    } else {
      return axes_fp32();
    }
  }
  const std::vector<double>& xs() const { return xs64_; }
  const std::vector<double>& ys() const { return ys64_; }

 private:
  JobSpec spec_;
  std::vector<double> xs64_, ys64_;
  std::vector<float> xs32_, ys32_;
};

/// Iterations a pixel with this count cost: count + 1 if it escaped, max_iter if it did not.
inline std::uint64_t iterations_of(std::uint32_t count, std::uint32_t max_iter) {
  return count >= max_iter ? max_iter : std::uint64_t{count} + 1;
}

/// The checksum every report carries: the sum of counts and an FNV-1a 64 hash of the counts
/// as little-endian 32-bit words in row-major order.
struct Checksum {
  std::uint64_t sum = 0;
  std::uint64_t hash = 0;
  std::string hash_hex() const;
  friend bool operator==(const Checksum&, const Checksum&) = default;
};
Checksum checksum(std::span<const std::uint32_t> counts);

/// A Mandelbrot job's counts in one pass: their checksum, and the iterations they stand for
/// (iterations_of each count), a report's effective iterations.
struct CountsSummary {
  Checksum checksum;
  std::uint64_t effective_iterations = 0;
};
CountsSummary summarize_counts(std::span<const std::uint32_t> counts, std::uint32_t max_iter);
/// The checksum of a field of floats (heat, triad): the sum of the cells' bit patterns and
/// FNV-1a 64 of their bytes.
Checksum field_checksum(std::span<const float> field);

/// FNV-1a 64 over `bytes`, continuing from `hash` (the FNV offset basis starts a new hash).
inline constexpr std::uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a_64(std::span<const unsigned char> bytes, std::uint64_t hash = kFnv1a64Offset);

}  // namespace hetero

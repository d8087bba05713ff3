// Jobs, tiles and checksums.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/job.hpp"

namespace hetero {

std::vector<Tile> make_tiles(std::int64_t pixels, std::int64_t tile_pixels) {
  std::vector<Tile> tiles;
  if (pixels <= 0 || tile_pixels <= 0) return tiles;
  tiles.reserve(static_cast<std::size_t>((pixels + tile_pixels - 1) / tile_pixels));
  for (std::int64_t begin = 0; begin < pixels; begin += tile_pixels) {
    tiles.push_back(
        {static_cast<std::int64_t>(tiles.size()), begin, std::min(pixels, begin + tile_pixels)});
  }
  return tiles;
}

namespace {

// A spec a library user built by hand gets the checks resolve_job makes of a request.
void check_spec(const JobSpec& spec) {
  constexpr std::int64_t kMaxSide = 2147483647;
  if (spec.width < 1 || spec.width > kMaxSide || spec.height < 1 || spec.height > kMaxSide) {
    throw UsageError(fmt::format("job: a {}x{} image; width and height must be in [1, 2^31-1]",
                                 spec.width, spec.height));
  }
  if (spec.max_iter < 1 || spec.max_iter > static_cast<std::uint32_t>(kMaxSide)) {
    throw UsageError(fmt::format("job: max_iter {} must be in [1, 2^31-1]", spec.max_iter));
  }
  const Region& r = spec.region;
  const bool finite = std::isfinite(r.xmin) && std::isfinite(r.xmax) && std::isfinite(r.ymin) &&
                      std::isfinite(r.ymax);
  if (!finite || !(r.xmin < r.xmax) || !(r.ymin < r.ymax)) {
    throw UsageError(fmt::format(
        "job: the region x [{}, {}], y [{}, {}] must be finite with xmin < xmax and ymin < ymax",
        r.xmin, r.xmax, r.ymin, r.ymax));
  }
}

}  // namespace

Job::Job(JobSpec spec) : spec_(std::move(spec)) {
  check_spec(spec_);
  Axes axes = make_axes(spec_);
  xs64_ = std::move(axes.xs);
  ys64_ = std::move(axes.ys);
  xs32_.assign(xs64_.begin(), xs64_.end());
  ys32_.assign(ys64_.begin(), ys64_.end());
}

AxesView<double> Job::axes_fp64() const {
  return {xs64_.data(), ys64_.data(), spec_.width, spec_.height};
}

AxesView<float> Job::axes_fp32() const {
  return {xs32_.data(), ys32_.data(), spec_.width, spec_.height};
}

std::string Checksum::hash_hex() const {
  return fmt::format("{:016x}", hash);
}

std::uint64_t fnv1a_64(std::span<const unsigned char> bytes, std::uint64_t hash) {
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  for (const unsigned char byte : bytes) {
    hash ^= byte;
    hash *= kPrime;
  }
  return hash;
}

namespace {

// One pass over the counts: FNV-1a over each count's four little-endian bytes, their sum, and
// (kIterations) the iterations they stand for, which cost nothing beside the hash's dependent
// multiplies. A zero byte's xor changes nothing, so the multiplies of a count's upper zero bytes
// fold into one by a power of the prime: the same hash, with half the dependent multiplies for
// counts under 65536 (every count of a job whose max-iter is below it), a quarter under 256.
template <bool kIterations>
CountsSummary summarize(std::span<const std::uint32_t> counts, std::uint32_t max_iter) {
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  constexpr std::uint64_t kPrime3 = kPrime * kPrime * kPrime;
  constexpr std::uint64_t kPrime4 = kPrime3 * kPrime;
  CountsSummary summary;
  std::uint64_t sum = 0;
  std::uint64_t iterations = 0;
  std::uint64_t hash = kFnv1a64Offset;
  for (const std::uint32_t count : counts) {
    sum += count;
    if constexpr (kIterations) iterations += iterations_of(count, max_iter);
    if (count < 0x100U) {
      hash = (hash ^ count) * kPrime4;
    } else if (count < 0x10000U) {
      hash = ((hash ^ (count & 0xffU)) * kPrime ^ (count >> 8)) * kPrime3;
    } else {
      const std::array<unsigned char, 4> little_endian{
          static_cast<unsigned char>(count), static_cast<unsigned char>(count >> 8),
          static_cast<unsigned char>(count >> 16), static_cast<unsigned char>(count >> 24)};
      hash = fnv1a_64(little_endian, hash);
    }
  }
  summary.checksum = {sum, hash};
  summary.effective_iterations = iterations;
  return summary;
}

}  // namespace

Checksum checksum(std::span<const std::uint32_t> counts) {
  return summarize<false>(counts, 0).checksum;
}

CountsSummary summarize_counts(std::span<const std::uint32_t> counts, std::uint32_t max_iter) {
  return summarize<true>(counts, max_iter);
}

Checksum field_checksum(std::span<const float> field) {
  Checksum checksum;
  for (const float cell : field) checksum.sum += std::bit_cast<std::uint32_t>(cell);
  checksum.hash = fnv1a_64(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(field.data()), field.size_bytes()));
  return checksum;
}

}  // namespace hetero

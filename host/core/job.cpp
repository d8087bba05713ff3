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

Checksum checksum(std::span<const std::uint32_t> counts) {
  Checksum result{0, kFnv1a64Offset};
  for (const std::uint32_t count : counts) {
    result.sum += count;
    const std::array<unsigned char, 4> little_endian{
        static_cast<unsigned char>(count), static_cast<unsigned char>(count >> 8),
        static_cast<unsigned char>(count >> 16), static_cast<unsigned char>(count >> 24)};
    result.hash = fnv1a_64(little_endian, result.hash);
  }
  return result;
}

Checksum field_checksum(std::span<const float> field) {
  Checksum checksum;
  for (const float cell : field) checksum.sum += std::bit_cast<std::uint32_t>(cell);
  checksum.hash = fnv1a_64(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(field.data()), field.size_bytes()));
  return checksum;
}

}  // namespace hetero

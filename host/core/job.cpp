// Jobs, tiles and checksums.
#include <algorithm>

#include <fmt/format.h>

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

Job::Job(JobSpec spec) : spec_(std::move(spec)) {
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

Checksum checksum(std::span<const std::uint32_t> counts) {
  constexpr std::uint64_t kOffset = 0xcbf29ce484222325ULL;
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  Checksum result{0, kOffset};
  for (const std::uint32_t count : counts) {
    result.sum += count;
    for (int shift = 0; shift < 32; shift += 8) {
      result.hash ^= (count >> shift) & 0xffU;
      result.hash *= kPrime;
    }
  }
  return result;
}

}  // namespace hetero

// Heat checkpoints as bytes.
#include "core/heat_checkpoint.hpp"

#include <cstring>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/job.hpp"
#include "hetero/version.hpp"

namespace hetero::detail {
namespace {

constexpr char kMagic[8] = {'H', 'E', 'A', 'T', 'C', 'K', 'P', '1'};

template <class T>
void put(std::string& bytes, const T& value) {
  bytes.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
bool get(std::string_view& bytes, T& value) {
  if (bytes.size() < sizeof(T)) return false;
  std::memcpy(&value, bytes.data(), sizeof(T));
  bytes.remove_prefix(sizeof(T));
  return true;
}

std::uint64_t hash_of(std::string_view bytes) {
  return fnv1a_64(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
}

}  // namespace

std::string encode_heat_checkpoint(std::int64_t width, std::int64_t height, std::int64_t step,
                                   std::span<const float> field) {
  std::string bytes(kMagic, sizeof(kMagic));
  const std::string_view version = version_string;
  put(bytes, static_cast<std::uint32_t>(version.size()));
  bytes.append(version);
  put(bytes, width);
  put(bytes, height);
  put(bytes, step);
  bytes.append(reinterpret_cast<const char*>(field.data()), field.size_bytes());
  put(bytes, hash_of(bytes));
  return bytes;
}

HeatCheckpoint parse_heat_checkpoint(std::string_view bytes, const std::string& name) {
  const auto refuse = [&](std::string_view why) {
    return UsageError(
        fmt::format("'{}' {}; give a checkpoint written by --checkpoint-every", name, why));
  };
  if (bytes.substr(0, sizeof(kMagic)) != std::string_view(kMagic, sizeof(kMagic))) {
    throw refuse("is not a heat checkpoint");
  }
  std::uint64_t stored_hash = 0;
  if (bytes.size() < sizeof(kMagic) + sizeof(stored_hash)) throw refuse("is damaged");
  std::memcpy(&stored_hash, bytes.data() + bytes.size() - sizeof(stored_hash), sizeof(stored_hash));
  if (hash_of(bytes.substr(0, bytes.size() - sizeof(stored_hash))) != stored_hash) {
    throw refuse("is damaged (its checksum does not match)");
  }
  bytes = bytes.substr(sizeof(kMagic), bytes.size() - sizeof(kMagic) - sizeof(stored_hash));
  std::uint32_t version_bytes = 0;
  if (!get(bytes, version_bytes) || bytes.size() < version_bytes) throw refuse("is damaged");
  const std::string_view version = bytes.substr(0, version_bytes);
  bytes.remove_prefix(version_bytes);
  if (version != version_string) {
    throw UsageError(fmt::format("the checkpoint '{}' was written by hetero {}; this is {}", name,
                                 version, version_string));
  }
  HeatCheckpoint checkpoint;
  std::int64_t cells = 0;
  if (!get(bytes, checkpoint.width) || !get(bytes, checkpoint.height) ||
      !get(bytes, checkpoint.step) || checkpoint.width < 3 || checkpoint.height < 3 ||
      checkpoint.step < 0 || __builtin_mul_overflow(checkpoint.width, checkpoint.height, &cells) ||
      bytes.size() / sizeof(float) != static_cast<std::uint64_t>(cells) ||
      bytes.size() % sizeof(float) != 0) {
    throw refuse("is damaged");
  }
  checkpoint.field.resize(static_cast<std::size_t>(cells));
  std::memcpy(checkpoint.field.data(), bytes.data(), bytes.size());
  return checkpoint;
}

}  // namespace hetero::detail

// Fuzz target: hetero::detail::parse_journal, the reader of a render's journal (--resume).
//
// The input is a whole journal file, read for the job of a fixed identity (8x4 pixels in tiles
// of 16: two tiles). The reader either refuses it (UsageError) or keeps a prefix of whole
// records: the kept and dropped bytes add up to the input, every kept tile's counts are the
// record's bytes, and reading the kept prefix alone keeps the same tiles and drops nothing.
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "core/journal.hpp"
#include "fuzz_support.hpp"
#include "hetero/error.hpp"
#include "hetero/workload.hpp"

namespace {

using hetero::fuzz::check;

hetero::JobSpec small_job() {
  hetero::JobRequest request;
  request.width = 8;
  request.height = 4;
  request.max_iter = 10;
  return hetero::resolve_job(request);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hetero::JobSpec spec = small_job();
  static const std::vector<hetero::Tile> tiles = hetero::make_tiles(spec.pixels(), 16);
  static const std::string identity = hetero::detail::journal_identity(spec, 16);
  const std::span<const std::uint8_t> bytes(data, size);
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(spec.pixels()), 0xdeadbeef);
  hetero::detail::JournalContents contents;
  try {
    contents = hetero::detail::parse_journal(bytes, identity, tiles, counts);
  } catch (const hetero::UsageError&) {
    return 0;
  }
  check(contents.good_bytes + contents.dropped_bytes == size,
        "parse_journal: kept and dropped bytes add up to the file");
  check(contents.tiles.size() <= tiles.size(), "parse_journal: at most the job's tiles");
  std::vector<std::uint32_t> again(counts.size(), 0);
  const hetero::detail::JournalContents prefix = hetero::detail::parse_journal(
      bytes.first(static_cast<std::size_t>(contents.good_bytes)), identity, tiles, again);
  check(prefix.dropped_bytes == 0 && prefix.tiles.size() == contents.tiles.size(),
        "parse_journal: the kept prefix alone keeps the same tiles and drops nothing");
  for (const auto& [index, tile] : contents.tiles) {
    check(tile.begin == tiles[static_cast<std::size_t>(index)].begin &&
              tile.end == tiles[static_cast<std::size_t>(index)].end,
          "parse_journal: a kept tile is the job's tile of that index");
    for (std::int64_t p = tile.begin; p < tile.end; ++p) {
      check(counts[static_cast<std::size_t>(p)] == again[static_cast<std::size_t>(p)],
            "parse_journal: a kept tile's counts are its record's");
    }
  }
  return 0;
}

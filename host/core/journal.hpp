// The journal of a run's completed tiles: what makes an interrupted render resumable. A header
// names the job; each record holds one tile's counts and a checksum, so a torn or corrupt tail
// is found and dropped.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "hetero/job.hpp"
#include "hetero/workload.hpp"

namespace hetero::detail {

/// What a journal belongs to: the job's every parameter, its tile size and the hetero version,
/// as `name=value` lines (a journal of another job is refused naming the first that differs).
std::string journal_identity(const JobSpec& spec, std::int64_t tile_pixels);

/// The tile size the journal at `path` was written with: a resume cuts the image the same way,
/// whatever nodes it runs on. Throws UsageError in one line when it is not a readable journal.
std::int64_t journal_tile_pixels(const std::filesystem::path& path);

/// What a journal held that can be trusted: the tiles of the job whose identity it was asked
/// for, each tile's counts, and how much of the file was dropped as torn or corrupt.
struct JournalContents {
  std::map<std::int64_t, Tile> tiles;  ///< by index
  std::uint64_t good_bytes = 0;        ///< the header and every kept record
  std::uint64_t dropped_bytes = 0;     ///< the tail after the last good record
};

/// Reads the journal at `path` for the job of `identity`, whose tiles are `tiles` and whose
/// counts are `counts`: every good record's counts are put in place. Throws UsageError in one
/// line when the file is unreadable, not a journal, or a journal of another job.
JournalContents read_journal(const std::filesystem::path& path, const std::string& identity,
                             std::span<const Tile> tiles, std::span<std::uint32_t> counts);
/// The same from bytes in memory (what the fuzz target feeds).
JournalContents parse_journal(std::span<const std::uint8_t> bytes, const std::string& identity,
                              std::span<const Tile> tiles, std::span<std::uint32_t> counts);

/// Appends completed tiles to a journal from any thread; a thread of its own writes them out in
/// batches (straight from the caller's counts, with no copy) and syncs the file to disk at least
/// every `kSyncPeriod`, and at a close that asks for it.
class JournalWriter {
 public:
  /// Starts a journal for `identity` at `path` (replacing any file there), or, with
  /// `keep_bytes` > 0, continues the journal there after its first `keep_bytes` (a resume: a
  /// torn tail is cut off). Throws UsageError in one line when the path cannot be written.
  JournalWriter(const std::filesystem::path& path, const std::string& identity,
                std::uint64_t keep_bytes = 0);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  /// Records `tile` with its counts, which must stay as they are until close() returns.
  void append(const Tile& tile, std::span<const std::uint32_t> counts);
  /// Writes everything appended, and with `sync` waits until it is on disk (a stopped or failed
  /// run, whose journal is what it leaves; a completed run's results are in its output, and its
  /// journal is left to the system to write). Throws Error when the disk refuses.
  void close(bool sync = true);

  static constexpr auto kSyncPeriod = std::chrono::seconds(2);

 private:
  // One tile's record: its header and checksum here, its counts where the caller keeps them.
  struct Record {
    std::array<std::uint8_t, 28> header;
    std::span<const std::uint8_t> payload;
    std::uint64_t checksum = 0;
  };

  void write_loop();
  void write_out(const std::vector<std::uint8_t>& bytes);
  void write_out(const std::vector<Record>& records);

  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Record> pending_;
  bool closing_ = false;
  bool sync_at_close_ = true;
  std::string error_;  // the writer thread's failure, reported by close()
  std::thread writer_;
};

}  // namespace hetero::detail

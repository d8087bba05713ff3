// The journal of a run's completed tiles: what makes an interrupted render resumable. A header
// names the job, the run's counts follow, and each completed tile adds a record with their
// checksum, so that torn records and counts that did not reach the disk are found and dropped.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "hetero/counts.hpp"
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
/// for, and how much of the file was dropped as torn or corrupt.
struct JournalContents {
  std::map<std::int64_t, Tile> tiles;  ///< by index
  std::uint64_t good_bytes = 0;        ///< the header, the counts and every intact record
  std::uint64_t dropped_bytes = 0;     ///< the tail after the last intact record
};

/// Reads a journal held in memory (what the fuzz target feeds) for the job of `identity`, whose
/// tiles are `tiles`: the counts of every tile it vouches for are put in `counts`. Throws
/// UsageError in one line when it is not a journal, or a journal of another job.
JournalContents parse_journal(std::span<const std::uint8_t> bytes, const std::string& identity,
                              std::span<const Tile> tiles, std::span<std::uint32_t> counts);

/// A run's journal. The file holds a header naming the job, the run's counts (mapped: the run
/// computes straight into the file, so journaling copies nothing), and one small record per
/// completed tile with a checksum of its counts; a resume keeps the tiles whose records are
/// intact and whose counts match, and recomputes the rest. Tiles are appended from any
/// thread; a thread of its own writes the records out in batches and syncs the file (counts
/// and records) to disk at least every `kSyncPeriod`, and at a close that asks for it.
class Journal {
 public:
  /// Starts a journal for `identity` and `pixels` counts at `path`, replacing any file there.
  /// Throws UsageError in one line when the path cannot be written.
  static std::unique_ptr<Journal> start(const std::filesystem::path& path,
                                        const std::string& identity, std::int64_t pixels);
  /// Continues the journal at `path` for the job of `identity`, whose tiles are `tiles`: what
  /// it vouches for is kept in place (in `contents`), a torn tail is cut off. Throws UsageError
  /// in one line when the file is unreadable, not a journal, or a journal of another job (the
  /// file is left as it was).
  static std::unique_ptr<Journal> resume(const std::filesystem::path& path,
                                         const std::string& identity, std::span<const Tile> tiles,
                                         JournalContents& contents);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// The run's counts, in the file: they live as long as the Counts given out.
  Counts counts() const;
  /// Records `tile`, whose counts are complete.
  void append(const Tile& tile);
  /// Writes every record appended, and with `sync` waits until the file is on disk (a stopped or
  /// failed run, whose journal is what it leaves; a completed run's results are its output,
  /// and its journal is left to the system to write). Throws Error when the disk refuses.
  void close(bool sync = true);

  static constexpr auto kSyncPeriod = std::chrono::seconds(2);

 private:
  struct Mapping;
  Journal(const std::filesystem::path& path, int fd, std::shared_ptr<Mapping> counts,
          std::uint64_t log_end);

  void write_loop();
  void write_out(std::span<const std::uint8_t> bytes);
  void sync();

  std::filesystem::path path_;
  int fd_ = -1;
  std::shared_ptr<Mapping> counts_;
  std::uint64_t log_end_ = 0;  // where the next record goes
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::uint8_t> pending_;  // records appended, not yet written
  bool closing_ = false;
  bool sync_at_close_ = true;
  std::string error_;  // the writer thread's failure, reported by close()
  std::thread writer_;
};

}  // namespace hetero::detail

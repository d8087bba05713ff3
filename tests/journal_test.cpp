// The journal of completed tiles: a stopped run resumed from it gives the uninterrupted run's
// counts bit for bit, computing only what was missing; torn, corrupt or foreign journals.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/journal.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("hetero-journal-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(folder_);
    path_ = folder_ / "run.journal";
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  // A run of the seed preset on threads in tiles of 5000 pixels (50 tiles), journaled; stopped
  // by its node after `stop_after` tiles when that is positive.
  RunResult run(bool resume, std::int64_t stop_after = 0, const std::string& node = "threads") {
    RuntimeOptions runtime_options;
    runtime_options.nodes = {node};
    Runtime runtime(runtime_options);
    RunOptions options;
    options.tile_pixels = 5000;
    options.policy = Policy::dynamic;
    options.journal = path_;
    options.resume = resume;
    if (stop_after > 0) options.faults = {{0, stop_after}};
    return runtime.run(Job(resolve_job(JobRequest{})), options);
  }
  std::uintmax_t size() const { return std::filesystem::file_size(path_); }

  std::filesystem::path folder_, path_;
};

TEST_F(JournalTest, AResumedRunComputesOnlyTheMissingTilesAndGivesTheSameCounts) {
  const RunResult whole = run(false);
  EXPECT_EQ(whole.report.checksum.sum, test::kSeedSum);
  const std::uintmax_t full_size = size();
  // A run that fails after 20 tiles leaves a journal of about those 20.
  EXPECT_THROW(run(false, 20), Error);
  const std::uintmax_t partial = size();
  EXPECT_LT(partial, full_size);
  const RunResult resumed = run(true, 0, "serial");
  EXPECT_EQ(resumed.counts, whole.counts);
  EXPECT_EQ(resumed.report.checksum, whole.report.checksum);
  const std::int64_t computed = resumed.report.nodes[0].tiles;
  EXPECT_GE(computed, 50 - 20 - 2) << "the tiles in flight at the failure may be lost";
  EXPECT_LE(computed, 50 - 20);
  EXPECT_EQ(size(), full_size) << "the resumed run went on journaling";
  // A complete journal resumes with nothing to compute.
  const RunResult again = run(true);
  EXPECT_EQ(again.counts, whole.counts);
  EXPECT_EQ(again.report.nodes[0].tiles, 0);
}

// A crash mid-write leaves a torn last record, a bad disk a corrupt one: the resume keeps every
// record before it, says how much it dropped, and recomputes the rest.
TEST_F(JournalTest, ATornOrCorruptTailIsDroppedAndRecomputed) {
  const RunResult whole = run(false);
  const std::uintmax_t full_size = size();
  std::filesystem::resize_file(path_, full_size - 7);
  const RunResult torn = run(true);
  EXPECT_EQ(torn.counts, whole.counts);
  EXPECT_EQ(torn.report.nodes[0].tiles, 1) << "only the torn tile is recomputed";
  ASSERT_FALSE(torn.report.notes.empty());
  EXPECT_NE(torn.report.notes.front().find("resumed 49 of 50 tiles"), std::string::npos)
      << torn.report.notes.front();
  EXPECT_NE(torn.report.notes.front().find("dropped"), std::string::npos);
  EXPECT_EQ(size(), full_size) << "the torn tail was cut off before appending";

  // One flipped byte among the counts (they had not reached the disk, say): that tile alone is
  // recomputed.
  const auto flip = [&](std::uintmax_t at) {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(at));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    file.seekp(static_cast<std::streamoff>(at));
    file.write(&byte, 1);
  };
  flip(full_size / 2);
  const RunResult bad_counts = run(true);
  EXPECT_EQ(bad_counts.counts, whole.counts);
  EXPECT_EQ(bad_counts.report.nodes[0].tiles, 1);
  EXPECT_EQ(bad_counts.report.notes.front().find("dropped"), std::string::npos)
      << "no record was torn: " << bad_counts.report.notes.front();

  // One flipped byte in the middle of the records: that record and every one after it are
  // dropped (the resumed run appended one record for the tile above: 51 in all).
  constexpr std::uintmax_t kRecord = 44;
  const std::uintmax_t log_at = size() - 51 * kRecord;
  flip(log_at + 25 * kRecord + 9);
  const RunResult corrupt = run(true);
  EXPECT_EQ(corrupt.counts, whole.counts);
  EXPECT_GE(corrupt.report.nodes[0].tiles, 25);
  EXPECT_LE(corrupt.report.nodes[0].tiles, 26);
  EXPECT_NE(corrupt.report.notes.front().find("dropped"), std::string::npos);
}

TEST_F(JournalTest, ForeignGarbageMissingOrUnwritableJournalsAreRefusedInOneLine) {
  // Another job's journal names what differs.
  {
    RuntimeOptions runtime_options;
    runtime_options.nodes = {"threads"};
    Runtime runtime(runtime_options);
    JobRequest other;
    other.max_iter = 999;
    RunOptions options;
    options.tile_pixels = 5000;
    options.journal = path_;
    runtime.run(Job(resolve_job(other)), options);
  }
  test::expect_one_line_error([&] { run(true); },
                              {"max_iter=999 where this job has max_iter=1000"});
  {
    std::ofstream garbage(path_, std::ios::binary | std::ios::trunc);
    garbage << "PNG or something else entirely";
  }
  test::expect_one_line_error([&] { run(true); }, {"not a hetero journal"});
  std::filesystem::remove(path_);
  test::expect_one_line_error([&] { run(true); }, {"cannot read it"});
  path_ = folder_ / "no-such-folder" / "run.journal";
  test::expect_one_line_error([&] { run(false); }, {"cannot write it"});
}

// What the reader trusts, byte by byte: a journal cut at any length keeps only the tiles of
// whole records, and a tile whose counts differ from its record is not kept.
TEST(Journal, AJournalCutAnywhereKeepsOnlyWholeRecords) {
  const JobSpec spec = resolve_job(JobRequest{});
  const std::vector<Tile> tiles = make_tiles(spec.pixels(), 100000);  // 3 tiles
  const std::string identity = detail::journal_identity(spec, 100000);
  const auto path =
      std::filesystem::temp_directory_path() / ("hetero-journal-cut-" + std::to_string(::getpid()));
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(spec.pixels()));
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<std::uint32_t>(i * 7);
  {
    const auto journal = detail::Journal::start(path, identity, spec.pixels());
    Counts in_file = journal->counts();
    ASSERT_EQ(in_file.size(), counts.size());
    std::copy(counts.begin(), counts.end(), in_file.begin());
    for (const Tile& tile : tiles) journal->append(tile);
    journal->close();
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  constexpr std::size_t kRecord = 44;
  const std::size_t log_at = bytes.size() - 3 * kRecord;
  ASSERT_EQ(log_at % 4, 0U);
  const auto read = [&](std::size_t cut) {
    std::vector<std::uint32_t> into(counts.size(), 0);
    const detail::JournalContents contents =
        detail::parse_journal(std::span(bytes).first(cut), identity, tiles, into);
    EXPECT_EQ(contents.good_bytes + contents.dropped_bytes, cut);
    for (const auto& [index, tile] : contents.tiles) {
      for (std::int64_t p = tile.begin; p < tile.end; p += 997) {
        EXPECT_EQ(into[static_cast<std::size_t>(p)], counts[static_cast<std::size_t>(p)]);
      }
    }
    return contents;
  };
  for (const std::size_t cut : {log_at / 2, log_at, log_at + 1, log_at + kRecord - 1,
                                log_at + kRecord, log_at + 2 * kRecord + 5, bytes.size()}) {
    const std::size_t whole = cut < log_at + kRecord       ? 0
                              : cut < log_at + 2 * kRecord ? 1
                              : cut < bytes.size()         ? 2
                                                           : 3;
    EXPECT_EQ(read(cut).tiles.size(), whole) << "cut at " << cut;
  }
  // A count of the last tile changed: its record is intact, the other two tiles are kept.
  bytes[log_at - 4 * 100] ^= 1;
  const detail::JournalContents changed = read(bytes.size());
  EXPECT_EQ(changed.tiles.size(), 2U);
  EXPECT_EQ(changed.tiles.count(2), 0U) << "the last tile's counts changed";
  EXPECT_EQ(changed.dropped_bytes, 0U);
}

}  // namespace
}  // namespace hetero

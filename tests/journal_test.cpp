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

  // One flipped byte in the middle: that record and every one after it are dropped.
  {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(full_size / 2));
    const char flipped = 0x5a;
    file.write(&flipped, 1);
  }
  const RunResult corrupt = run(true);
  EXPECT_EQ(corrupt.counts, whole.counts);
  EXPECT_GT(corrupt.report.nodes[0].tiles, 20);
  EXPECT_LT(corrupt.report.nodes[0].tiles, 30);
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

// What the reader trusts, byte by byte: a journal cut at any length keeps whole records only.
TEST(Journal, AJournalCutAnywhereKeepsOnlyWholeRecords) {
  const JobSpec spec = resolve_job(JobRequest{});
  const std::vector<Tile> tiles = make_tiles(spec.pixels(), 100000);  // 3 tiles
  const std::string identity = detail::journal_identity(spec, 100000);
  const auto path =
      std::filesystem::temp_directory_path() / ("hetero-journal-cut-" + std::to_string(::getpid()));
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(spec.pixels()));
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<std::uint32_t>(i * 7);
  {
    detail::JournalWriter writer(path, identity);
    for (const Tile& tile : tiles) {
      writer.append(tile, std::span(counts).subspan(static_cast<std::size_t>(tile.begin),
                                                    static_cast<std::size_t>(tile.size())));
    }
    writer.close();
  }
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  const std::size_t record = 28 + 100000 * 4 + 8;
  const std::size_t header = bytes.size() - 2 * record - (28 + 50000 * 4 + 8);
  for (const std::size_t cut : {header, header + 1, header + record - 1, header + record,
                                header + 2 * record + 5, bytes.size()}) {
    std::vector<std::uint32_t> read(counts.size(), 0);
    const detail::JournalContents contents =
        detail::parse_journal(std::span(bytes).first(cut), identity, tiles, read);
    const std::size_t whole = cut < header + record       ? 0
                              : cut < header + 2 * record ? 1
                              : cut < bytes.size()        ? 2
                                                          : 3;
    EXPECT_EQ(contents.tiles.size(), whole) << "cut at " << cut;
    EXPECT_EQ(contents.good_bytes + contents.dropped_bytes, cut);
    for (const auto& [index, tile] : contents.tiles) {
      for (std::int64_t p = tile.begin; p < tile.end; p += 997) {
        ASSERT_EQ(read[static_cast<std::size_t>(p)], counts[static_cast<std::size_t>(p)]);
      }
    }
  }
}

}  // namespace
}  // namespace hetero

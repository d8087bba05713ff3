// The device memory cap on every device node (opencl, cuda, thrust): tiles that do not fit run
// in pieces with counts identical to serial, each tile completed once after its last piece; a
// cap too small for the job fails naming the node and the bytes. Skipped, with the reason, for
// a node that cannot run here.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hetero/backend/dispatcher.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

class DeviceMemory : public test::OnEachNode {
 public:
  static NodeOptions capped(std::uint64_t bytes) {
    NodeOptions options;
    options.memory.bytes = bytes;
    return options;
  }
  static JobSpec job(Precision precision) {
    // 257 x 131 = 33667 pixels: tiles of 20000 pixels want 80000 bytes of counts each.
    return test::region_job({-2.1, 0.7, -1.3, 1.1}, 257, 131, 300, precision, Mode::exact);
  }
  static constexpr std::uint64_t kCap = 64 * 1024;
  static constexpr std::int64_t kTilePixels = 20000;
};

// Runs job(precision) under the cap with tiles too large for it, under each policy; returns
// false, running nothing more, when the node refuses the precision (a device without fp64).
bool expect_pieces_with_identical_counts(const std::string& backend, Precision precision,
                                         std::string& refusal) {
  for (const Policy policy : {Policy::dynamic, Policy::static_split}) {
    const JobSpec spec = DeviceMemory::job(precision);
    RunResult result;
    try {
      result = test::run_on({backend}, spec, policy, DeviceMemory::kTilePixels,
                            DeviceMemory::capped(DeviceMemory::kCap));
    } catch (const Error& e) {
      if (precision == Precision::fp64 && std::string(e.what()).find("fp64") != std::string::npos) {
        refusal = e.what();
        return false;
      }
      throw;
    }
    const std::string what = fmt::format("{} {}", to_string(precision), to_string(policy));
    EXPECT_EQ(result.counts, test::reference_counts(spec)) << what;
    EXPECT_EQ(result.report.nodes.size(), 1U);
    if (result.report.nodes.size() != 1U) continue;
    const NodeReport& node = result.report.nodes[0];
    EXPECT_EQ(node.tiles, 2) << what;
    EXPECT_GT(node.pieces, node.tiles) << what;
    EXPECT_EQ(node.pixels, spec.pixels()) << what;
    EXPECT_EQ(node.bytes_to_host, static_cast<std::uint64_t>(spec.pixels()) * 4) << what;
    EXPECT_EQ(node.device_memory_cap, DeviceMemory::kCap) << what;
    EXPECT_LE(node.peak_device_bytes, DeviceMemory::kCap) << what;
    EXPECT_EQ(result.report.notes.size(), 1U) << what;
    for (const std::string& note : result.report.notes) {
      EXPECT_NE(note.find(" pieces: whole tiles did not fit"), std::string::npos) << note;
    }
  }
  return true;
}

TEST_P(DeviceMemory, TilesThatDoNotFitTheCapRunInPiecesWithIdenticalCountsFp32) {
  std::string refusal;
  EXPECT_TRUE(expect_pieces_with_identical_counts(GetParam(), Precision::fp32, refusal)) << refusal;
}

TEST_P(DeviceMemory, TilesThatDoNotFitTheCapRunInPiecesWithIdenticalCountsFp64) {
  std::string refusal;
  if (!expect_pieces_with_identical_counts(GetParam(), Precision::fp64, refusal)) {
    GTEST_SKIP() << GetParam() << " runs no fp64 here: " << refusal;
  }
}

TEST_P(DeviceMemory, TileInPiecesIsCompletedOnceAfterItsLastPiece) {
  const auto node = NodeRegistry::builtin().create(GetParam(), capped(48 * 1024));
  // Tiles of 7001 pixels (ragged: not whole rows), too large for a lane's share of the cap, and
  // more of them than the node's lanes hold in flight, so that a stop leaves some untaken.
  constexpr std::int64_t kTile = 7001, kWidth = 257;
  const std::int64_t tile_count = node->lanes() + 4;
  const JobSpec spec =
      test::region_job({-2.1, 0.7, -1.3, 1.1}, kWidth, (tile_count * kTile + kWidth - 1) / kWidth,
                       300, Precision::fp32, Mode::exact);
  const Job work_job(spec);
  const std::vector<std::uint32_t> expected = test::reference_counts(spec);
  const std::vector<Tile> tiles = make_tiles(spec.pixels(), kTile);
  for (const bool self_scheduling : {false, true}) {
    for (const std::size_t stop_after : {tiles.size(), std::size_t{1}}) {
      std::vector<std::uint32_t> counts(expected.size(), std::numeric_limits<std::uint32_t>::max());
      test::CheckedWork work(tiles, self_scheduling, counts, expected, stop_after);
      const TraceClock clock;
      NodeTrace trace(&clock, 0);
      test::run_job_on(*node, work_job, work, counts, trace);
      const std::string what = std::string(self_scheduling ? "self-scheduling" : "assigned") +
                               ", stop after " + std::to_string(stop_after);
      EXPECT_EQ(work.wrong_tiles(), 0U) << what;
      for (const int n : work.completions()) EXPECT_LE(n, 1) << what;
      if (stop_after == tiles.size()) {
        EXPECT_EQ(work.completed_count(), tiles.size()) << what;
        EXPECT_EQ(counts, expected) << what;
      } else {
        EXPECT_LT(work.completed_count(), tiles.size()) << what << ": the stop was not heard";
      }
    }
  }
}

TEST_P(DeviceMemory, CapTooSmallForTheJobFailsNamingTheBytesAndWhatToDo) {
  const JobSpec spec = job(Precision::fp32);  // axes: 388 floats, 1552 bytes
  try {
    test::run_on({GetParam()}, spec, Policy::dynamic, 0, capped(1000));
    FAIL() << "a job ran within a 1000-byte cap";
  } catch (const Cancelled&) {
    FAIL() << "cancelled instead of failing";
  } catch (const Error& e) {
    const std::string message = e.what();
    const std::string node(split_node_entry(GetParam()).name);  // thrust:omp is a thrust node
    EXPECT_NE(message.find("node '" + node + "' failed"), std::string::npos) << message;
    EXPECT_NE(message.find("bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("--device-memory"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(Nodes, DeviceMemory,
                         ::testing::Values("opencl", "cuda", "thrust", "thrust:omp"),
                         test::node_test_name);

}  // namespace
}  // namespace hetero

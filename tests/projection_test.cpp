// The scaling projection of the mpi node (`hetero project`): built in every configuration, MPI or
// not, so these tests run under the sanitizers too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <sstream>
#include <vector>

#include "hetero/backend/dispatcher.hpp"
#include "hetero/hetero.hpp"
#include "nodes/mpi/projection.hpp"

namespace hetero {
namespace {

using nodes::mpi::parse_rank_counts;
using nodes::mpi::project_scaling;
using nodes::mpi::ProjectionJob;
using nodes::mpi::ProjectionModel;
using nodes::mpi::ProjectionRow;

JobSpec image(std::int64_t width, std::int64_t height) {
  JobSpec spec;
  spec.preset = "test";
  spec.width = width;
  spec.height = height;
  spec.max_iter = 1000;
  return spec;
}

ProjectionModel model(double giters, double latency_s, double bytes_per_s, double message_s) {
  ProjectionModel m;
  m.rank_giters = giters;
  m.latency_s = latency_s;
  m.bytes_per_s = bytes_per_s;
  m.message_cost_s = message_s;
  return m;
}

// One rank, one tile in flight, two tiles of 100 pixels and 1e6 iterations each: every step is
// serial, so the wall time is a sum that can be written out.
TEST(MpiProjection, MatchesAHandComputedTinyCase) {
  ProjectionJob job;
  job.spec = image(100, 2);
  job.iterations = 2'000'000;
  job.tile_pixels = 100;
  ProjectionModel m = model(1.0, 2e-6, 1e9, 1e-6);
  m.tiles_in_flight = 1;
  m.job_bytes = 0;
  const std::vector<int> ranks{1};
  const std::vector<ProjectionRow> rows = project_scaling(job, m, ranks);
  ASSERT_EQ(rows.size(), 1u);

  const double c = m.message_cost_s, latency = m.latency_s, bandwidth = m.bytes_per_s;
  const double order = static_cast<double>(m.order_bytes);
  const double result = static_cast<double>(m.header_bytes + 100 * job.bytes_per_pixel);
  const double compute = 1e6 / 1e9;
  // The job message (c), then per tile: the order sent (c), its bytes and latency, the
  // compute, the result's latency and bytes, its handling (c).
  const double expected =
      c + 2 * (2 * c + order / bandwidth + 2 * latency + compute + result / bandwidth);
  EXPECT_NEAR(rows[0].wall_s, expected, 1e-12);
  EXPECT_EQ(rows[0].tiles, 2);
  EXPECT_EQ(rows[0].min_tiles, 2);
  EXPECT_NEAR(rows[0].speedup, 2 * compute / expected, 1e-12);
  EXPECT_NEAR(rows[0].efficiency, rows[0].speedup, 1e-15);
  EXPECT_NEAR(rows[0].dispatcher_busy, 5 * c / expected, 1e-12);
}

// A job whose iterations sit in a band of rows, like the Mandelbrot set's interior.
ProjectionJob uneven_job(std::int64_t tile_pixels) {
  ProjectionJob job;
  job.spec = image(512, 512);
  job.tile_pixels = tile_pixels;
  for (std::int64_t row = 0; row < 512; ++row) {
    job.row_iterations.push_back(row >= 200 && row < 300 ? 400'000 : 5'000);
  }
  return job;
}

// More ranks never slow the job down while the queue holds at least twice the tiles the ranks
// have in flight; past that, tiles committed ahead can leave one rank with the expensive ones.
TEST(MpiProjection, WallFallsAndEfficiencyStaysAtMostOneAsRanksGrow) {
  const ProjectionJob job = uneven_job(512);  // one row per tile: 512 tiles
  const ProjectionModel m = model(0.25, 1e-6, 10e9, 1e-6);
  const std::vector<int> ranks = parse_rank_counts("1,2,4,...,256");
  const std::vector<ProjectionRow> rows = project_scaling(job, m, ranks);
  ASSERT_EQ(rows.size(), ranks.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(rows[i].ranks);
    EXPECT_GT(rows[i].efficiency, 0);
    EXPECT_LE(rows[i].efficiency, 1.0);
    EXPECT_LE(rows[i].dispatcher_busy, 1.0);
    EXPECT_EQ(rows[i].tiles, 512);
    if (i > 0 && 2 * rows[i].ranks * m.tiles_in_flight <= rows[i].tiles) {
      EXPECT_LT(rows[i].wall_s, rows[i - 1].wall_s);
      EXPECT_GT(rows[i].speedup, rows[i - 1].speedup);
    }
  }
  // Close to linear while ranks are few, far from it once tiles run short.
  EXPECT_GT(rows[1].efficiency, 0.9);
  EXPECT_LT(rows.back().efficiency, 0.5);
}

TEST(MpiProjection, AutomaticTilesKeepEfficiencyAtMostOne) {
  const ProjectionJob job = uneven_job(0);
  const std::vector<int> ranks = parse_rank_counts("1,2,4,...,1024");
  for (const ProjectionRow& row : project_scaling(job, model(0.25, 5e-6, 5e9, 2e-6), ranks)) {
    SCOPED_TRACE(row.ranks);
    EXPECT_GT(row.speedup, 0);
    EXPECT_LE(row.efficiency, 1.0);
    EXPECT_EQ(row.tile_pixels, auto_tile_pixels(job.spec, row.ranks, /*device_nodes=*/true));
  }
}

// Rank 0 handles two messages per tile, so an expensive message bounds the wall time below
// whatever the rank count.
TEST(MpiProjection, DispatcherBoundsTheWallTime) {
  const ProjectionJob job = uneven_job(512);
  const ProjectionModel m = model(100.0, 1e-6, 10e9, 1e-3);
  const std::vector<int> ranks{64, 512};
  for (const ProjectionRow& row : project_scaling(job, m, ranks)) {
    EXPECT_GE(row.wall_s, 2 * static_cast<double>(row.tiles) * m.message_cost_s);
    EXPECT_GT(row.dispatcher_busy, 0.99);
  }
}

TEST(MpiProjection, ProjectionJobTakesEachRowsIterations) {
  const JobSpec spec = image(3, 2);
  const std::vector<std::uint32_t> counts{0, 1, 1000, 5, 5, 5};  // 1000 never escaped
  const ProjectionJob job = nodes::mpi::projection_job(spec, counts, 3);
  ASSERT_EQ(job.row_iterations.size(), 2u);
  EXPECT_EQ(job.row_iterations[0], 1u + 2u + 1000u);
  EXPECT_EQ(job.row_iterations[1], 18u);
  EXPECT_EQ(job.iterations, 1021u);
  EXPECT_THROW(nodes::mpi::projection_job(spec, std::vector<std::uint32_t>(5), 3), UsageError);
}

TEST(MpiProjection, RejectsModelsThatCannotRun) {
  const ProjectionJob job = uneven_job(512);
  const std::vector<int> ranks{1};
  EXPECT_THROW(project_scaling(job, model(0, 1e-6, 1e9, 1e-6), ranks), UsageError);
  EXPECT_THROW(project_scaling(job, model(1, 1e-6, 0, 1e-6), ranks), UsageError);
  const std::vector<int> no_ranks{0};
  EXPECT_THROW(project_scaling(job, model(1, 1e-6, 1e9, 1e-6), no_ranks), UsageError);
}

TEST(MpiProjection, ParsesRankCountsAndSeries) {
  EXPECT_EQ(parse_rank_counts("1,2,4,...,1024"),
            (std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}));
  EXPECT_EQ(parse_rank_counts("1,3,9,...,81"), (std::vector<int>{1, 3, 9, 27, 81}));
  EXPECT_EQ(parse_rank_counts("2,6,7"), (std::vector<int>{2, 6, 7}));
  EXPECT_EQ(parse_rank_counts("1,2,4,...,16"), (std::vector<int>{1, 2, 4, 8, 16}));
  for (const char* bad : {"", "0", "1,,2", "4,2", "1,2,...", "1,2,...,1000", "a", "1,2,...,4,8",
                          "2,2", "1,2,5,...,20", "1,3116777,216,9,...,8"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_rank_counts(bad), UsageError);
  }
}

TEST(MpiProjection, ModelTakesTheSlowerDirectionOfALink) {
  Link link;
  link.zero_copy = false;
  link.to_device_latency_s = 2e-6;
  link.to_host_latency_s = 3e-6;
  link.to_device_bytes_per_s = 8e9;
  link.to_host_bytes_per_s = 6e9;
  const ProjectionModel m = nodes::mpi::projection_model(0.5, link);
  EXPECT_EQ(m.rank_giters, 0.5);
  EXPECT_EQ(m.latency_s, 3e-6);
  EXPECT_EQ(m.bytes_per_s, 6e9);
}

TEST(MpiProjection, PrintsOneLinePerRankCount) {
  const ProjectionJob job = uneven_job(512);
  const ProjectionModel m = model(0.25, 1e-6, 10e9, 1e-6);
  const std::vector<int> ranks{1, 2, 4};
  const std::vector<ProjectionRow> rows = project_scaling(job, m, ranks);
  std::ostringstream table;
  nodes::mpi::print_projection(table, job, m, rows);
  const std::string text = table.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3 + 3);  // 2 header lines, titles, rows
  EXPECT_NE(text.find("efficiency"), std::string::npos);
  const std::string json = nodes::mpi::projection_json(job, m, rows).dump();
  EXPECT_NE(json.find("\"hetero.projection\""), std::string::npos);
}

}  // namespace
}  // namespace hetero

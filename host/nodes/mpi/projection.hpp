// Projection of the mpi node to many ranks: rank 0's dynamic-queue dispatcher simulated event by
// event from a measured rank throughput, a link model and the job's iteration profile.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hetero/backend/node.hpp"
#include "hetero/workload.hpp"
#include "nodes/mpi/rank_counts.hpp"

namespace hetero::nodes::mpi {

/// The job as the dispatcher sees it: its image, where its iterations are, and its tiles.
struct ProjectionJob {
  JobSpec spec;                               ///< width and height are used (and the name)
  std::vector<std::uint64_t> row_iterations;  ///< measured iterations per row; empty: even
  std::uint64_t iterations = 0;               ///< total, used when row_iterations is empty
  std::int64_t tile_pixels = 0;  ///< 0: the dispatcher's own choice (with a remote node) per count
  std::uint64_t bytes_per_pixel = 4;  ///< result bytes per pixel (one 32-bit count)
};

/// Builds a ProjectionJob from a run's counts (its per-row iteration profile).
ProjectionJob projection_job(const JobSpec& spec, std::span<const std::uint32_t> counts,
                             std::int64_t tile_pixels = 0);

/// What one rank and its link cost.
struct ProjectionModel {
  double rank_giters = 0;           ///< one rank's throughput in Giter/s (measured)
  double latency_s = 0;             ///< one-way message latency
  double bytes_per_s = 0;           ///< link bandwidth; rank 0's link carries every message
  std::string link_source;          ///< where the link's figures come from (Link::source)
  double message_cost_s = 1e-6;     ///< rank 0's CPU time to send or receive one message
  int tiles_in_flight = 2;          ///< per rank: one computing, one queued, as the mpi node does
  std::uint64_t order_bytes = 29;   ///< a tile order
  std::uint64_t header_bytes = 40;  ///< a result's header (sent with its counts)
  std::uint64_t job_bytes = 128;    ///< the job message each rank gets first
};

/// A model from a rank's throughput and a measured link (e.g. the mpi node's NodeInfo::link
/// under mpirun): the slower direction's latency and bandwidth.
ProjectionModel projection_model(double rank_giters, const Link& link);

/// The projection for one rank count.
struct ProjectionRow {
  int ranks = 0;  ///< computing ranks: mpirun -np ranks + 1 (rank 0 dispatches)
  std::int64_t tile_pixels = 0;
  std::int64_t tiles = 0;
  double wall_s = 0;           ///< from the first message to the last result handled
  double speedup = 0;          ///< one rank computing alone (no messages) / wall_s
  double efficiency = 0;       ///< speedup / ranks; at most 1
  double dispatcher_busy = 0;  ///< fraction of wall_s rank 0 spends handling messages
  double link_busy = 0;        ///< fraction of wall_s rank 0's link carries results
  std::int64_t min_tiles = 0, max_tiles = 0;  ///< tiles per rank
};

/// Simulates the dynamic queue for each rank count. Each rank starts with `tiles_in_flight`
/// tile orders (sent slot by slot across ranks) and gets the next tile as soon as rank 0
/// handled its result. Rank 0 is one server that handles messages in arrival order for
/// `message_cost_s` each; its link serialises every byte at `bytes_per_s`; every message
/// also takes `latency_s`; a rank computes its tiles one at a time at `rank_giters`.
/// Throws UsageError for a non-positive throughput, bandwidth or rank count.
std::vector<ProjectionRow> project_scaling(const ProjectionJob& job, const ProjectionModel& model,
                                           std::span<const int> ranks);

/// The projection as a table (with a header saying what it assumed), and as JSON.
void print_projection(std::ostream& out, const ProjectionJob& job, const ProjectionModel& model,
                      const std::vector<ProjectionRow>& rows);
nlohmann::json projection_json(const ProjectionJob& job, const ProjectionModel& model,
                               const std::vector<ProjectionRow>& rows);

}  // namespace hetero::nodes::mpi

// The discrete-event projection of rank 0's dynamic-queue dispatcher over many ranks.
#include "projection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <queue>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "hetero/backend/dispatcher.hpp"
#include "hetero/error.hpp"
#include "hetero/job.hpp"

namespace hetero::nodes::mpi {
namespace {

// Iterations of pixel ranges, from the job's per-row profile (or spread evenly).
class IterationProfile {
 public:
  explicit IterationProfile(const ProjectionJob& job)
      : width_(job.spec.width), pixels_(job.spec.pixels()) {
    if (!job.row_iterations.empty()) {
      rows_.assign(job.row_iterations.begin(), job.row_iterations.end());
      prefix_.assign(rows_.size() + 1, 0.0);
      for (std::size_t r = 0; r < rows_.size(); ++r) prefix_[r + 1] = prefix_[r] + rows_[r];
    } else {
      per_pixel_ =
          pixels_ > 0 ? static_cast<double>(job.iterations) / static_cast<double>(pixels_) : 0;
    }
  }
  double total() const { return before(pixels_); }
  double of(const Tile& tile) const { return before(tile.end) - before(tile.begin); }

 private:
  // Iterations of pixels [0, pixel), a row's share spread evenly over its pixels.
  double before(std::int64_t pixel) const {
    if (rows_.empty()) return per_pixel_ * static_cast<double>(pixel);
    const auto row = static_cast<std::size_t>(pixel / width_);
    if (row >= rows_.size()) return prefix_.back();
    const double within = static_cast<double>(pixel % width_) / static_cast<double>(width_);
    return prefix_[row] + rows_[row] * within;
  }
  std::int64_t width_, pixels_;
  std::vector<double> rows_, prefix_;
  double per_pixel_ = 0;
};

// A result on its way to rank 0: it reaches rank 0's link at `time`.
struct ResultArrival {
  double time = 0;
  std::int64_t order = 0;  // ties: first sent, first handled
  int rank = 0;
  std::size_t tile = 0;
  bool operator>(const ResultArrival& other) const {
    return time != other.time ? time > other.time : order > other.order;
  }
};

ProjectionRow simulate(const IterationProfile& profile, const ProjectionJob& job,
                       const ProjectionModel& model, int ranks) {
  ProjectionRow row;
  row.ranks = ranks;
  row.tile_pixels = job.tile_pixels > 0 ? std::min(job.tile_pixels, job.spec.pixels())
                                        : auto_tile_pixels(job.spec, ranks, /*device_nodes=*/true);
  const std::vector<Tile> tiles = make_tiles(job.spec.pixels(), row.tile_pixels);
  row.tiles = static_cast<std::int64_t>(tiles.size());
  const double rate = model.rank_giters * 1e9;
  const double bandwidth = model.bytes_per_s;
  const double cost = model.message_cost_s;

  double server_free = 0;    // rank 0's CPU
  double link_out_free = 0;  // rank 0's link, outgoing
  double link_in_free = 0;   // rank 0's link, incoming
  double link_in_busy = 0;
  std::int64_t messages = 0;
  std::vector<double> rank_free(static_cast<std::size_t>(ranks), 0);
  std::vector<std::int64_t> rank_tiles(static_cast<std::size_t>(ranks), 0);
  std::priority_queue<ResultArrival, std::vector<ResultArrival>, std::greater<>> arrivals;
  std::int64_t sent = 0;
  std::size_t next_tile = 0;

  // Rank 0 sends a message of `bytes` to `rank` once it is free after `ready`: returns when
  // the message reaches the rank.
  auto send = [&](double ready, std::uint64_t bytes) {
    server_free = std::max(server_free, ready) + cost;
    ++messages;
    link_out_free = std::max(server_free, link_out_free) + static_cast<double>(bytes) / bandwidth;
    return link_out_free + model.latency_s;
  };
  auto send_tile = [&](int rank, double ready) {
    const std::size_t t = next_tile++;
    const double arrives = send(ready, model.order_bytes);
    double& free = rank_free[static_cast<std::size_t>(rank)];
    free = std::max(free, arrives) + profile.of(tiles[t]) / rate;
    ++rank_tiles[static_cast<std::size_t>(rank)];
    arrivals.push({free + model.latency_s, sent++, rank, t});
  };

  for (int rank = 0; rank < ranks; ++rank) {
    rank_free[static_cast<std::size_t>(rank)] = send(0, model.job_bytes);
  }
  for (int slot = 0; slot < model.tiles_in_flight; ++slot) {
    for (int rank = 0; rank < ranks && next_tile < tiles.size(); ++rank) send_tile(rank, 0);
  }
  double last = server_free;
  while (!arrivals.empty()) {
    const ResultArrival arrival = arrivals.top();
    arrivals.pop();
    const Tile& tile = tiles[arrival.tile];
    const double bytes =
        static_cast<double>(model.header_bytes) +
        static_cast<double>(tile.size()) * static_cast<double>(job.bytes_per_pixel);
    link_in_free = std::max(link_in_free, arrival.time) + bytes / bandwidth;
    link_in_busy += bytes / bandwidth;
    server_free = std::max(server_free, link_in_free) + cost;
    ++messages;
    last = server_free;
    if (next_tile < tiles.size()) send_tile(arrival.rank, server_free);
  }

  row.wall_s = last;
  const double alone = profile.total() / rate;
  row.speedup = row.wall_s > 0 ? alone / row.wall_s : 0;
  row.efficiency = row.speedup / ranks;
  row.dispatcher_busy = row.wall_s > 0 ? static_cast<double>(messages) * cost / row.wall_s : 0;
  row.link_busy = row.wall_s > 0 ? link_in_busy / row.wall_s : 0;
  row.min_tiles = *std::min_element(rank_tiles.begin(), rank_tiles.end());
  row.max_tiles = *std::max_element(rank_tiles.begin(), rank_tiles.end());
  return row;
}

}  // namespace

ProjectionJob projection_job(const JobSpec& spec, std::span<const std::uint32_t> counts,
                             std::int64_t tile_pixels) {
  if (static_cast<std::int64_t>(counts.size()) != spec.pixels()) {
    throw UsageError(fmt::format("projection: {} counts for a {}x{} job", counts.size(), spec.width,
                                 spec.height));
  }
  ProjectionJob job;
  job.spec = spec;
  job.tile_pixels = tile_pixels;
  job.row_iterations.assign(static_cast<std::size_t>(spec.height), 0);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::uint64_t iterations = iterations_of(counts[i], spec.max_iter);
    job.row_iterations[i / static_cast<std::size_t>(spec.width)] += iterations;
    job.iterations += iterations;
  }
  return job;
}

ProjectionModel projection_model(double rank_giters, const Link& link) {
  ProjectionModel model;
  model.rank_giters = rank_giters;
  model.latency_s = std::max(link.to_device_latency_s, link.to_host_latency_s);
  model.bytes_per_s = std::min(link.to_device_bytes_per_s, link.to_host_bytes_per_s);
  model.link_source = link.source;
  return model;
}

std::vector<ProjectionRow> project_scaling(const ProjectionJob& job, const ProjectionModel& model,
                                           std::span<const int> ranks) {
  if (!(model.rank_giters > 0)) {
    throw UsageError("projection: the rank throughput must be positive (Giter/s)");
  }
  if (!(model.bytes_per_s > 0)) throw UsageError("projection: the bandwidth must be positive");
  if (model.latency_s < 0 || model.message_cost_s < 0) {
    throw UsageError("projection: latency and message cost cannot be negative");
  }
  if (model.tiles_in_flight < 1) throw UsageError("projection: tiles in flight must be 1 or more");
  if (job.spec.pixels() <= 0) throw UsageError("projection: the job has no pixels");
  if (!job.row_iterations.empty() &&
      static_cast<std::int64_t>(job.row_iterations.size()) != job.spec.height) {
    throw UsageError("projection: row_iterations needs one entry per row");
  }
  const IterationProfile profile(job);
  std::vector<ProjectionRow> rows;
  for (const int count : ranks) {
    if (count < 1) throw UsageError(fmt::format("projection: {} ranks: need 1 or more", count));
    rows.push_back(simulate(profile, job, model, count));
  }
  return rows;
}

void print_projection(std::ostream& out, const ProjectionJob& job, const ProjectionModel& model,
                      const std::vector<ProjectionRow>& rows) {
  const IterationProfile profile(job);
  fmt::print(out, "projection of the mpi node: {} {}x{}, {:.0f} iterations ({}), tiles {}\n",
             job.spec.preset, job.spec.width, job.spec.height, profile.total(),
             job.row_iterations.empty() ? "spread evenly" : "measured per row",
             job.tile_pixels > 0 ? fmt::format("{} px", job.tile_pixels)
                                 : std::string("auto per rank count"));
  fmt::print(out,
             "model: {:.3f} Giter/s per rank, link {:.2f} us and {:.2f} GB/s ({}), rank 0 {:.2f} "
             "us per message, {} tiles in flight per rank; one rank alone {:.4f} s\n",
             model.rank_giters, model.latency_s * 1e6, model.bytes_per_s * 1e-9, model.link_source,
             model.message_cost_s * 1e6, model.tiles_in_flight,
             profile.total() / (model.rank_giters * 1e9));
  fmt::print(out, "{:>6} {:>6} {:>9} {:>7} {:>11} {:>9} {:>10} {:>11} {:>9} {:>10}\n", "ranks",
             "-np", "tile px", "tiles", "wall s", "speed-up", "efficiency", "rank-0 busy",
             "link busy", "tiles/rank");
  for (const ProjectionRow& row : rows) {
    fmt::print(out,
               "{:>6} {:>6} {:>9} {:>7} {:>11.6f} {:>9.2f} {:>10.3f} {:>10.1f}% {:>8.1f}% {:>10}\n",
               row.ranks, row.ranks + 1, row.tile_pixels, row.tiles, row.wall_s, row.speedup,
               row.efficiency, row.dispatcher_busy * 100, row.link_busy * 100,
               fmt::format("{}-{}", row.min_tiles, row.max_tiles));
  }
}

nlohmann::json projection_json(const ProjectionJob& job, const ProjectionModel& model,
                               const std::vector<ProjectionRow>& rows) {
  using nlohmann::json;
  json list = json::array();
  for (const ProjectionRow& row : rows) {
    list.push_back({{"ranks", row.ranks},
                    {"mpirun_np", row.ranks + 1},
                    {"tile_pixels", row.tile_pixels},
                    {"tiles", row.tiles},
                    {"wall_s", row.wall_s},
                    {"speedup", row.speedup},
                    {"efficiency", row.efficiency},
                    {"dispatcher_busy", row.dispatcher_busy},
                    {"link_busy", row.link_busy},
                    {"tiles_per_rank", {{"min", row.min_tiles}, {"max", row.max_tiles}}}});
  }
  const IterationProfile profile(job);
  return json{{"schema", "hetero.projection"},
              {"schema_version", 1},
              {"job",
               {{"preset", job.spec.preset},
                {"width", job.spec.width},
                {"height", job.spec.height},
                {"iterations", profile.total()},
                {"iterations_per_row_measured", !job.row_iterations.empty()},
                {"tile_pixels", job.tile_pixels}}},
              {"model",
               {{"rank_giters_per_s", model.rank_giters},
                {"latency_s", model.latency_s},
                {"bytes_per_s", model.bytes_per_s},
                {"link_source", model.link_source},
                {"message_cost_s", model.message_cost_s},
                {"tiles_in_flight", model.tiles_in_flight}}},
              {"rows", std::move(list)}};
}

}  // namespace hetero::nodes::mpi

// hetero project: the mpi node's dispatcher projected onto many ranks from measured models.
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/measure.hpp"
#include "cli/signals.hpp"
#include "core/parse.hpp"
#include "hetero/hetero.hpp"
#include "nodes/mpi/projection.hpp"

namespace hetero::cli {

/// The link `project` assumes when none is given or measured: 10 Gb Ethernet with MPI.
constexpr double kAssumedLatencyUs = 50;
constexpr double kAssumedGbPerS = 1.25;

namespace {

// A link of `latency_us` and `gb_per_s` both ways, from `source`.
Link symmetric_link(double latency_us, double gb_per_s, std::string source) {
  Link link;
  link.zero_copy = false;
  link.to_device_latency_s = link.to_host_latency_s = latency_us * 1e-6;
  link.to_device_bytes_per_s = link.to_host_bytes_per_s = gb_per_s * 1e9;
  link.source = std::move(source);
  return link;
}

// The link the ranks are projected over: the one given, the mpi node's measured one under
// mpirun, or else an assumed 10 Gb Ethernet link, said on stderr.
Link rank_link(const ProjectOptions& options) {
  if (options.latency_us) {
    return symmetric_link(parse_real("--latency-us", *options.latency_us),
                          parse_real("--bandwidth-gbs", *options.bandwidth_gbs), "given");
  }
  const NodeInfo info = NodeRegistry::builtin().describe("mpi");
  if (info.available) return info.link;
  fmt::print(stderr,
             "hetero: note: no measured rank link ({}): projecting over an assumed 10 Gb "
             "Ethernet link, {} us and {} GB/s each way; give --latency-us and --bandwidth-gbs "
             "for yours\n",
             info.reason, kAssumedLatencyUs, kAssumedGbPerS);
  return symmetric_link(kAssumedLatencyUs, kAssumedGbPerS, "assumed 10 Gb Ethernet");
}

}  // namespace

int run_project(const ProjectOptions& options) {
  namespace mpi = nodes::mpi;
  const JobSpec spec = resolve_job(options.job.request());
  const std::vector<int> ranks = mpi::parse_rank_counts(options.ranks);
  const std::int64_t tile =
      options.tile == "auto" ? 0 : parse_integer("--tile", options.tile, 1, spec.pixels());
  if (options.latency_us.has_value() != options.bandwidth_gbs.has_value()) {
    throw UsageError(
        "--latency-us and --bandwidth-gbs go together: give both, or neither to "
        "use the mpi node's measured link (or, outside mpirun, an assumed one)");
  }

  // One run of the job gives its iteration profile and, unless given, one rank's throughput.
  NodeOptions node_options;
  node_options.workers =
      options.job.workers
          ? static_cast<int>(parse_integer("--threads", *options.job.workers, 1, 4096))
          : 1;
  node_options.kernel = options.job.kernel;
  node_options.device = options.job.device;
  if (options.job.device_memory) {
    node_options.memory = parse_memory_cap("--device-memory", *options.job.device_memory);
  }
  Runtime runtime(exactly({{options.backend, node_options}}));
  RunOptions run_options;
  run_options.stop = &stop_flag();
  const TimedRuns measured = runtime.time(Job(spec), run_options, 0, 1);
  const double giters = options.giters ? parse_real("--giters", *options.giters)
                                       : static_cast<double>(measured.last.report.iterations) /
                                             measured.timing.median_s * 1e-9;
  if (!(giters > 0)) throw UsageError("--giters must be positive");

  mpi::ProjectionModel model = mpi::projection_model(giters, rank_link(options));
  model.message_cost_s = parse_real("--message-us", options.message_us) * 1e-6;
  model.tiles_in_flight = static_cast<int>(parse_integer("--in-flight", options.in_flight, 1, 64));

  const mpi::ProjectionJob job = mpi::projection_job(spec, measured.last.counts, tile);
  const std::vector<mpi::ProjectionRow> rows = mpi::project_scaling(job, model, ranks);
  nlohmann::json document = mpi::projection_json(job, model, rows);
  document["hetero_version"] = version_string;
  document["host"] = host_json(spec.precision, spec.mode);
  if (options.json && *options.json == "-") {
    std::cout << document.dump(2) << '\n';
    return 0;
  }
  std::unique_ptr<OutputFile> json_file;
  if (options.json) json_file = std::make_unique<OutputFile>(*options.json);
  mpi::print_projection(std::cout, job, model, rows);
  if (json_file) {
    json_file->stream() << document.dump(2) << '\n';
    json_file->commit();
  }
  return 0;
}

}  // namespace hetero::cli

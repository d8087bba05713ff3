// hetero scale: strong and weak scaling per backend and co-scheduled set, and tile sweeps.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/measure.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "cli/signals.hpp"
#include "core/parse.hpp"
#include "hetero/hetero.hpp"

namespace hetero::cli {
namespace {

// One configuration to measure: nodes with their options.
struct Setup {
  std::vector<std::string> names;
  std::vector<NodeOptions> options;
};

struct Measurement {
  TimingSummary timing;
  std::uint64_t iterations = 0;
  Checksum checksum;
  int lanes = 0;
};

// Measures each point of a study, saying on the terminal which one runs.
class Scaler {
 public:
  Scaler(Policy policy, int repeat, int warmup, PointProgress& progress)
      : policy_(policy), repeat_(repeat), warmup_(warmup), progress_(progress) {}

  /// The point `setup` on `spec`, named `what` in the progress line.
  Measurement measure(const std::string& what, const Setup& setup, const JobSpec& spec,
                      std::int64_t tile = 0) const {
    std::vector<NodeSpec> nodes;
    for (std::size_t i = 0; i < setup.names.size(); ++i) {
      nodes.push_back({setup.names[i], setup.options[i]});
    }
    Runtime runtime(exactly(std::move(nodes)));
    RunOptions options;
    options.policy =
        setup.names.size() > 1 || policy_ != Policy::automatic ? policy_ : Policy::dynamic;
    options.tile_pixels = tile;
    options.stop = &stop_flag();
    progress_.begin(fmt::format("{}, {} warm-up + {} timed runs", what, warmup_, repeat_));
    const TimedRuns measured = runtime.time(Job(spec), options, warmup_, repeat_);
    progress_.end();
    return {measured.timing, measured.last.report.iterations, measured.last.report.checksum,
            runtime.lanes()};
  }

 private:
  Policy policy_;
  int repeat_, warmup_;
  PointProgress& progress_;
};

// The tile sizes of a tile sweep: 1, 4, 16, ... tiles (at most 65536).
std::vector<std::int64_t> sweep_tile_sizes(const JobSpec& spec) {
  std::vector<std::int64_t> sizes;
  for (std::int64_t tiles = 1; tiles <= spec.pixels() && tiles <= 65536; tiles *= 4) {
    sizes.push_back((spec.pixels() + tiles - 1) / tiles);
  }
  return sizes;
}

std::vector<int> parse_workers(const std::string& text) {
  std::vector<int> workers;
  if (text.empty()) {
    const int cores = host_machine().hardware_threads;
    for (int p = 1; p < cores; p *= 2) workers.push_back(p);
    workers.push_back(cores);
    return workers;
  }
  std::string_view rest(text);
  while (!rest.empty()) {
    const std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    workers.push_back(static_cast<int>(parse_integer("--workers", item, 1, 4096)));
  }
  std::sort(workers.begin(), workers.end());
  workers.erase(std::unique(workers.begin(), workers.end()), workers.end());
  return workers;
}

// "threads,serial+threads" -> {{threads}, {serial, threads}}; "all": every available backend.
// Backends that cannot run here follow the one rule (chosen_backends), checked before any
// work; with `fallback` a set keeps the members that can run. What was left out goes to `notes`.
std::vector<std::vector<std::string>> parse_entries(const std::string& text,
                                                    const NodeOptions& options, bool fallback,
                                                    std::vector<std::string>& notes) {
  std::vector<std::vector<std::string>> entries;
  if (text == "all") {
    const ChosenBackends all = chosen_backends("all", options, false);
    notes.insert(notes.end(), all.notes.begin(), all.notes.end());
    for (const std::string& name : all.names) entries.push_back({name});
    return entries;
  }
  std::string_view rest(text);
  while (!rest.empty()) {
    const std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    std::string names(item);
    std::replace(names.begin(), names.end(), '+', ',');
    ChosenBackends entry = chosen_backends(names, options, fallback, "");
    notes.insert(notes.end(), entry.notes.begin(), entry.notes.end());
    if (!entry.names.empty()) entries.push_back(std::move(entry.names));
  }
  if (entries.empty()) {
    throw UsageError(text.empty() ? "--backend: name at least one backend"
                                  : "none of --backend " + text +
                                        " can run here ('hetero devices' says why)");
  }
  return entries;
}

// The set `names` on `workers` hardware threads in all: adjustable nodes share what the fixed
// ones leave. Returns nothing when the set cannot run on that many.
std::optional<Setup> setup_for(const std::vector<std::string>& names, int workers,
                               const NodeOptions& base) {
  Setup setup;
  int fixed = 0, adjustable = 0;
  std::vector<NodeInfo> infos;
  for (const std::string& name : names) {
    infos.push_back(NodeRegistry::builtin().describe(name, base));
    if (!infos.back().available) {
      throw cannot_run_here(name, infos.back().reason);
    }
    if (infos.back().adjustable_workers) {
      ++adjustable;
    } else {
      fixed += infos.back().concurrency;
    }
  }
  if (adjustable == 0) {
    if (workers != fixed) return std::nullopt;  // a fixed set has one point: its own size
  } else if (workers - fixed < adjustable) {
    return std::nullopt;
  }
  int left = workers - fixed;
  for (std::size_t i = 0; i < names.size(); ++i) {
    NodeOptions options = base;
    if (infos[i].adjustable_workers) {
      options.workers = left / adjustable--;
      left -= options.workers;
    }
    setup.names.push_back(names[i]);
    setup.options.push_back(options);
  }
  return setup;
}

}  // namespace

int run_scale(const ScaleOptions& options) {
  const JobSpec spec = resolve_job(options.job.request());
  const int repeat = static_cast<int>(parse_integer("--repeat", options.repeat, 1, 1000));
  const int warmup = static_cast<int>(parse_integer("--warmup", options.warmup, 0, 100));
  const Policy policy = parse_policy(options.policy);
  if (options.study != "strong" && options.study != "weak" && options.study != "both") {
    throw UsageError(fmt::format("unknown study '{}': use strong, weak or both", options.study));
  }
  if (!options.sweep.empty() && options.sweep != "tile") {
    throw UsageError(fmt::format("unknown sweep '{}': use tile", options.sweep));
  }
  const std::vector<int> workers = parse_workers(options.workers);
  NodeOptions base;
  base.device = options.job.device;
  base.kernel = options.job.kernel;
  if (options.job.device_memory) {
    base.memory = parse_memory_cap("--device-memory", *options.job.device_memory);
  }
  ChosenBackends left_out;
  const auto entries = parse_entries(options.backends, base, options.fallback, left_out.notes);

  Output::check_one_stdout({{"--json", &options.json}, {"--csv", &options.csv}});
  Output json_file(options.json), csv_file(options.csv);
  std::FILE* log = json_file.to_stdout() || csv_file.to_stdout() ? stderr : stdout;
  left_out.say();

  // Every point, counted first for the progress line: the baseline, each study's worker counts
  // that can run, or a sweep's first run, its sizes and auto.
  std::size_t point_count = 1;
  for (const auto& names : entries) {
    if (options.sweep.empty()) {
      const std::size_t studies = options.study == "both" ? 2 : 1;
      for (const int p : workers) point_count += setup_for(names, p, base) ? studies : 0;
    } else if (setup_for(names, workers.back(), base)) {
      point_count += sweep_tile_sizes(spec).size() + 2;
    }
  }
  PointProgress progress("scale", point_count, true);
  const Scaler scaler(policy, repeat, warmup, progress);
  Setup serial_setup{{"serial"}, {base}};
  serial_setup.options[0].workers = 1;
  const Measurement baseline = scaler.measure("baseline: serial, 1 worker", serial_setup, spec);
  const double serial_giters =
      static_cast<double>(baseline.iterations) / baseline.timing.median_s * 1e-9;
  fmt::print(log, "{} {}x{}, max-iter {}, {} {}, policy {}, {} warm-up + {} timed runs per point\n",
             spec.preset, spec.width, spec.height, spec.max_iter, to_string(spec.precision),
             to_string(spec.mode), to_string(policy), warmup, repeat);
  fmt::print(log, "baseline: serial {:.4f} s (min {:.4f}, max {:.4f}), {:.3f} Giter/s\n",
             baseline.timing.median_s, baseline.timing.min_s, baseline.timing.max_s, serial_giters);

  nlohmann::json studies = nlohmann::json::array();
  std::string csv =
      "study,backend,workers,tile_pixels,min_s,median_s,max_s,noisy,iterations,"
      "giters_per_s,speedup,efficiency,serial_fraction\n";
  auto csv_row = [&](std::string_view study, const std::string& backend, int p, std::int64_t tile,
                     const Measurement& m, double giters, double speedup, double efficiency,
                     double fraction) {
    csv += fmt::format("{},{},{},{},{:.6f},{:.6f},{:.6f},{},{},{:.6f},{:.6f},{:.6f},{:.6f}\n",
                       study, backend, p, tile, m.timing.min_s, m.timing.median_s, m.timing.max_s,
                       m.timing.noisy ? 1 : 0, m.iterations, giters, speedup, efficiency, fraction);
  };
  bool identical = true;
  // The checksum each job must give: the serial baseline's for the job itself; for the weak
  // study's taller images, one run on the threads node over every hardware thread, once per
  // height (a serial run of them would cost the workers' count times the baseline).
  std::map<std::int64_t, Checksum> references{{spec.height, baseline.checksum}};
  const auto reference_of = [&](const JobSpec& job) -> const Checksum& {
    if (const auto it = references.find(job.height); it != references.end()) return it->second;
    RuntimeOptions runtime_options;
    runtime_options.nodes = {"threads"};
    Runtime reference(runtime_options);
    RunOptions run_options;
    run_options.stop = &stop_flag();
    return references.emplace(job.height, reference.run(Job(job), run_options).report.checksum)
        .first->second;
  };
  const auto check = [&](const JobSpec& job, const Measurement& m) {
    const bool same = m.checksum == reference_of(job);
    identical = identical && same;
    return same;
  };

  for (const auto& names : entries) {
    const std::string label = fmt::format("{}", fmt::join(names, "+"));
    for (const std::string_view study : {"strong", "weak"}) {
      if (!options.sweep.empty()) break;
      if (options.study != "both" && options.study != study) continue;
      const bool strong = study == "strong";
      fmt::print(log, "\n{} scaling of {}{}\n", study, label,
                 strong ? "" : " (the image grows with the workers: Gustafson)");
      fmt::print(log, "{:>7} {:>10} {:>10} {:>10} {:>6} {:>9} {:>9} {:>10} {:>11}\n", "workers",
                 "median s", "min s", "max s", "noise", "Giter/s", "speed-up", "efficiency",
                 strong ? "Karp-Flatt" : "serial frac");
      nlohmann::json points = nlohmann::json::array();
      std::vector<int> fit_workers;
      std::vector<double> fit_seconds;
      double seconds_one = 0;
      for (const int p : workers) {
        const auto setup = setup_for(names, p, base);
        if (!setup) continue;
        JobSpec job = spec;
        if (!strong) job.height = spec.height * p;
        const Measurement m = scaler.measure(
            fmt::format("{} scaling of {}, {} worker{}", study, label, p, p == 1 ? "" : "s"),
            *setup, job);
        const bool same = check(job, m);
        const double giters = static_cast<double>(m.iterations) / m.timing.median_s * 1e-9;
        // Strong: time ratio to serial. Weak: throughput ratio to serial (scaled speed-up).
        const double speedup =
            strong ? baseline.timing.median_s / m.timing.median_s : giters / serial_giters;
        const double efficiency = speedup / p;
        const double fraction =
            strong ? karp_flatt(speedup, p) : (p > 1 ? (p - speedup) / (p - 1) : 0.0);
        if (p == 1) seconds_one = m.timing.median_s;
        fit_workers.push_back(p);
        fit_seconds.push_back(m.timing.median_s);
        fmt::print(
            log, "{:>7} {:>10.4f} {:>10.4f} {:>10.4f} {:>6} {:>9.3f} {:>8.2f}x {:>10.3f} {:>11}\n",
            p, m.timing.median_s, m.timing.min_s, m.timing.max_s, m.timing.noisy ? "NOISY" : "ok",
            giters, speedup, efficiency,
            p > 1 ? fmt::format("{:.4f}", fraction) : std::string("-"));
        points.push_back({{"workers", p},
                          {"lanes", m.lanes},
                          {"iterations", m.iterations},
                          {"giters_per_s", giters},
                          {"speedup", speedup},
                          {"efficiency", efficiency},
                          {strong ? "karp_flatt" : "gustafson_serial_fraction",
                           p > 1 ? nlohmann::json(fraction) : nlohmann::json(nullptr)},
                          {"identical_to_reference", same}});
        points.back().update(timing_json(m.timing));
        csv_row(study, label, p, 0, m, giters, speedup, efficiency, fraction);
      }
      nlohmann::json entry = {{"backend", label}, {"study", study}, {"points", points}};
      if (strong && fit_workers.size() > 1) {
        const AmdahlFit fit = fit_amdahl(fit_workers, fit_seconds,
                                         seconds_one > 0 ? seconds_one : baseline.timing.median_s);
        fmt::print(
            log, "Amdahl fit: serial fraction {:.4f}, speed-up limit {}\n", fit.serial_fraction,
            std::isinf(fit.limit) ? std::string("unbounded") : fmt::format("{:.1f}x", fit.limit));
        entry["amdahl"] = {
            {"serial_fraction", fit.serial_fraction},
            {"limit", std::isinf(fit.limit) ? nlohmann::json() : nlohmann::json(fit.limit)},
            {"seconds_one", seconds_one > 0 ? seconds_one : baseline.timing.median_s}};
      }
      studies.push_back(std::move(entry));
    }

    if (options.sweep == "tile") {
      const auto setup = setup_for(names, workers.back(), base);
      if (!setup) continue;
      const Measurement probe =
          scaler.measure(fmt::format("tile sweep of {}, its lanes", label), *setup, spec);
      const int lanes = std::max(1, probe.lanes);
      fmt::print(log, "\ntile sweep of {} ({} lanes): efficiency = (serial time / lanes) / time\n",
                 label, lanes);
      fmt::print(log, "{:>12} {:>8} {:>10} {:>10} {:>10} {:>6} {:>10}\n", "tile pixels", "tiles",
                 "median s", "min s", "max s", "noise", "efficiency");
      const std::vector<std::int64_t> sizes = sweep_tile_sizes(spec);
      nlohmann::json points = nlohmann::json::array();
      for (const std::int64_t tile : sizes) {
        const Measurement m = scaler.measure(
            fmt::format("tile sweep of {}, tiles of {} px", label, tile), *setup, spec, tile);
        const bool same = check(spec, m);
        const double efficiency = baseline.timing.median_s / lanes / m.timing.median_s;
        const std::int64_t tiles = (spec.pixels() + tile - 1) / tile;
        fmt::print(log, "{:>12} {:>8} {:>10.4f} {:>10.4f} {:>10.4f} {:>6} {:>10.3f}\n", tile, tiles,
                   m.timing.median_s, m.timing.min_s, m.timing.max_s,
                   m.timing.noisy ? "NOISY" : "ok", efficiency);
        points.push_back({{"tile_pixels", tile},
                          {"tiles", tiles},
                          {"efficiency", efficiency},
                          {"identical_to_reference", same}});
        points.back().update(timing_json(m.timing));
        csv_row("tile", label, lanes, tile, m,
                static_cast<double>(m.iterations) / m.timing.median_s * 1e-9,
                baseline.timing.median_s / m.timing.median_s, efficiency, 0);
      }
      const Measurement automatic =
          scaler.measure(fmt::format("tile sweep of {}, automatic tiles", label), *setup, spec, 0);
      check(spec, automatic);
      const double efficiency = baseline.timing.median_s / lanes / automatic.timing.median_s;
      fmt::print(
          log, "{:>12} {:>8} {:>10.4f} {:>10.4f} {:>10.4f} {:>6} {:>10.3f}\n", "auto",
          (spec.pixels() + auto_tile_pixels(spec, lanes) - 1) / auto_tile_pixels(spec, lanes),
          automatic.timing.median_s, automatic.timing.min_s, automatic.timing.max_s,
          automatic.timing.noisy ? "NOISY" : "ok", efficiency);
      studies.push_back({{"backend", label},
                         {"study", "tile"},
                         {"lanes", lanes},
                         {"points", points},
                         {"auto",
                          {{"tile_pixels", auto_tile_pixels(spec, lanes)},
                           {"median_s", automatic.timing.median_s},
                           {"efficiency", efficiency}}}});
    }
  }

  nlohmann::json baseline_entry = {
      {"backend", "serial"},
      {"giters_per_s", serial_giters},
      {"checksum", {{"sum", baseline.checksum.sum}, {"hash", baseline.checksum.hash_hex()}}}};
  baseline_entry.update(timing_json(baseline.timing));
  const nlohmann::json document = {{"schema", "hetero.scale"},
                                   {"schema_version", 3},
                                   {"hetero_version", version_string},
                                   {"host", host_json(spec.precision, spec.mode)},
                                   {"job", job_json(spec)},
                                   {"policy", to_string(policy)},
                                   {"repeat", repeat},
                                   {"warmup", warmup},
                                   {"baseline", baseline_entry},
                                   {"studies", studies}};
  if (json_file) {
    json_file.stream() << document.dump(2) << '\n';
    json_file.commit();
  }
  if (csv_file) {
    csv_file.stream() << csv;
    csv_file.commit();
  }
  if (!identical) {
    fmt::print(stderr,
               "hetero: error: some runs' counts differ from their reference (see "
               "identical_to_reference in --json)\n");
    return 1;
  }
  return 0;
}

}  // namespace hetero::cli

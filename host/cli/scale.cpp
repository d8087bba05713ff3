// hetero scale: strong and weak scaling per backend and co-scheduled set, of the Mandelbrot job
// or a kernel workload (heat, triad), and tile sweeps.
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
  std::uint64_t iterations = 0;  ///< iterations, or a kernel workload's work units
  Checksum checksum;
  int lanes = 0;
  /// Per node of the last run: the fraction of its wall time the node spent copying over its
  /// link.
  std::vector<std::pair<std::string, double>> link_share;
};

// What a study runs at each point: the Mandelbrot job or a kernel workload, grown `factor`
// times in the weak study (the job's and heat's height, triad's elements).
class StudyWork {
 public:
  explicit StudyWork(const JobSpec& job) : job_(job) {}
  explicit StudyWork(const KernelWorkload& kernel) : kernel_(kernel) {}

  bool is_job() const { return !kernel_.has_value(); }
  const JobSpec& job() const { return job_; }
  StudyWork grown(int factor) const {
    if (kernel_) return StudyWork(kernel_->grown(factor));
    JobSpec taller = job_;
    taller.height *= factor;
    return StudyWork(taller);
  }
  std::int64_t size() const { return kernel_ ? kernel_->size() : job_.height; }
  /// What the study computes, for its first line.
  std::string describe() const {
    if (kernel_) return kernel_->describe();
    return fmt::format("{} {}x{}, max-iter {}, {} {}", job_.preset, job_.width, job_.height,
                       job_.max_iter, to_string(job_.precision), to_string(job_.mode));
  }
  const char* rate_unit() const { return kernel_ ? "G units/s" : "Giter/s"; }
  /// The policy of a run on `nodes` nodes: the one asked for (the job's auto on one node,
  /// which has nothing to plan, is dynamic); else render's defaults, dynamic for one node and
  /// auto for several (heat: static, its bands stay).
  Policy policy(std::optional<Policy> asked, std::size_t nodes) const {
    if (kernel_) return asked.value_or(kernel_->default_policy(nodes));
    const Policy policy = asked.value_or(nodes > 1 ? Policy::automatic : Policy::dynamic);
    return nodes > 1 || policy != Policy::automatic ? policy : Policy::dynamic;
  }

  /// `warmup` untimed runs, then `repeat` timed ones; the last run's figures.
  Measurement measure(Runtime& runtime, Policy policy, std::int64_t tile, int warmup,
                      int repeat) const {
    Report last;
    TimingSummary timing;
    if (kernel_) {
      LaunchOptions options;
      options.policy = policy;
      options.tile = tile;
      options.stop = &stop_flag();
      std::vector<double> seconds;
      for (int i = 0; i < warmup + repeat; ++i) {
        last = kernel_->run(runtime, options);
        if (i >= warmup) seconds.push_back(last.wall_s);
      }
      timing = summarize(std::move(seconds));
    } else {
      RunOptions options;
      options.policy = policy;
      options.tile_pixels = tile;
      options.stop = &stop_flag();
      TimedRuns measured = runtime.time(Job(job_), options, warmup, repeat);
      timing = std::move(measured.timing);
      last = std::move(measured.last.report);
    }
    Measurement m{std::move(timing), last.iterations, last.checksum, runtime.lanes(), {}};
    for (const NodeReport& node : last.nodes) {
      m.link_share.emplace_back(node.name, last.wall_s > 0 ? node.transfer_s / last.wall_s : 0);
    }
    return m;
  }

  /// The checksum of one run on the threads node over every hardware thread: the reference of
  /// the weak study's larger sizes (a serial run of them would cost the workers' count times
  /// the baseline).
  Checksum reference() const {
    RuntimeOptions options;
    options.nodes = {"threads"};
    Runtime runtime(options);
    if (kernel_) {
      LaunchOptions launch;
      launch.policy = kernel_->default_policy();
      launch.stop = &stop_flag();
      return kernel_->run(runtime, launch).checksum;
    }
    RunOptions run_options;
    run_options.stop = &stop_flag();
    return runtime.run(Job(job_), run_options).report.checksum;
  }

 private:
  JobSpec job_;
  std::optional<KernelWorkload> kernel_;
};

// Measures each point of a study, saying on the terminal which one runs.
class Scaler {
 public:
  Scaler(std::optional<Policy> policy, int repeat, int warmup, PointProgress& progress)
      : policy_(policy), repeat_(repeat), warmup_(warmup), progress_(progress) {}

  /// The point `setup` on `work`, named `what` in the progress line.
  Measurement measure(const std::string& what, const Setup& setup, const StudyWork& work,
                      std::int64_t tile = 0) const {
    std::vector<NodeSpec> nodes;
    for (std::size_t i = 0; i < setup.names.size(); ++i) {
      nodes.push_back({setup.names[i], setup.options[i]});
    }
    Runtime runtime(exactly(std::move(nodes)));
    progress_.begin(fmt::format("{}, {} warm-up + {} timed runs", what, warmup_, repeat_));
    Measurement m =
        work.measure(runtime, work.policy(policy_, setup.names.size()), tile, warmup_, repeat_);
    progress_.end();
    return m;
  }

 private:
  std::optional<Policy> policy_;
  int repeat_, warmup_;
  PointProgress& progress_;
};

// "opencl 3.1%, threads 0.0%": each node's share of wall time on its link.
std::string link_shares_text(const Measurement& m) {
  std::string text;
  for (const auto& [name, share] : m.link_share) {
    text += fmt::format("{}{} {:.1f}%", text.empty() ? "" : ", ", name, 100 * share);
  }
  return text;
}

nlohmann::json link_shares_json(const Measurement& m) {
  nlohmann::json shares = nlohmann::json::object();
  for (const auto& [name, share] : m.link_share) shares[name] = share;
  return shares;
}

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

// The work of every point: the Mandelbrot job, or the kernel workload --workload names (with
// its --size and --steps, refusing the job's options).
StudyWork study_work(const ScaleOptions& options) {
  if (options.workload == "heat" || options.workload == "triad") {
    refuse_mandelbrot_options(options.mandelbrot_options, options.workload);
    if (!options.sweep.empty()) {
      throw UsageError(fmt::format(
          "--sweep tile sweeps the mandelbrot job's tiles: drop --sweep, or --workload {}",
          options.workload));
    }
    return StudyWork(KernelWorkload::parse(options.workload, options.size, options.steps));
  }
  check_mandelbrot_workload(options.workload, options.size    ? "--size"
                                              : options.steps ? "--steps"
                                                              : nullptr);
  return StudyWork(resolve_job(options.job.request()));
}

int run_scale(const ScaleOptions& options) {
  const StudyWork work = study_work(options);
  const JobSpec& spec = work.job();
  const int repeat = static_cast<int>(parse_integer("--repeat", options.repeat, 1, 1000));
  const int warmup = static_cast<int>(parse_integer("--warmup", options.warmup, 0, 100));
  std::optional<Policy> asked_policy;
  if (!options.policy.empty()) asked_policy = parse_policy(options.policy);
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
  const Scaler scaler(asked_policy, repeat, warmup, progress);
  Setup serial_setup{{"serial"}, {base}};
  serial_setup.options[0].workers = 1;
  const Measurement baseline = scaler.measure("baseline: serial, 1 worker", serial_setup, work);
  const double serial_giters =
      static_cast<double>(baseline.iterations) / baseline.timing.median_s * 1e-9;
  const Policy policy = work.policy(asked_policy, 2), alone = work.policy(asked_policy, 1);
  fmt::print(log, "{}, policy {}, {} warm-up + {} timed runs per point\n", work.describe(),
             policy == alone
                 ? std::string(to_string(policy))
                 : fmt::format("{} for one node, {} for sets", to_string(alone), to_string(policy)),
             warmup, repeat);
  fmt::print(log, "baseline: serial {:.4f} s (min {:.4f}, max {:.4f}), {:.3f} {}\n",
             baseline.timing.median_s, baseline.timing.min_s, baseline.timing.max_s, serial_giters,
             work.rate_unit());

  nlohmann::json studies = nlohmann::json::array();
  std::string csv =
      "study,backend,workers,tile_pixels,min_s,median_s,max_s,noisy,iterations,"
      "giters_per_s,speedup,efficiency,serial_fraction,link_share\n";
  auto csv_row = [&](std::string_view study, const std::string& backend, int p, std::int64_t tile,
                     const Measurement& m, double giters, double speedup, double efficiency,
                     double fraction) {
    std::string shares;
    for (const auto& [name, share] : m.link_share) {
      shares += fmt::format("{}{}={:.6f}", shares.empty() ? "" : ";", name, share);
    }
    csv += fmt::format("{},{},{},{},{:.6f},{:.6f},{:.6f},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{}\n",
                       study, backend, p, tile, m.timing.min_s, m.timing.median_s, m.timing.max_s,
                       m.timing.noisy ? 1 : 0, m.iterations, giters, speedup, efficiency, fraction,
                       shares);
  };
  bool identical = true;
  // The checksum each point must give: the serial baseline's for the work itself; for the weak
  // study's larger sizes, StudyWork::reference(), once per size.
  std::map<std::int64_t, Checksum> references{{work.size(), baseline.checksum}};
  const auto check = [&](const StudyWork& point, const Measurement& m) {
    auto it = references.find(point.size());
    if (it == references.end()) it = references.emplace(point.size(), point.reference()).first;
    const bool same = m.checksum == it->second;
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
                 strong          ? ""
                 : work.is_job() ? " (the image grows with the workers: Gustafson)"
                                 : " (the work grows with the workers: Gustafson)");
      fmt::print(log, "{:>7} {:>10} {:>10} {:>10} {:>6} {:>9} {:>9} {:>10} {:>11}  {}\n", "workers",
                 "median s", "min s", "max s", "noise", work.rate_unit(), "speed-up", "efficiency",
                 strong ? "Karp-Flatt" : "serial frac", "link share of wall time");
      nlohmann::json points = nlohmann::json::array();
      std::vector<int> fit_workers;
      std::vector<double> fit_seconds;
      double seconds_one = 0;
      for (const int p : workers) {
        const auto setup = setup_for(names, p, base);
        if (!setup) continue;
        const StudyWork point = strong ? work : work.grown(p);
        const Measurement m = scaler.measure(
            fmt::format("{} scaling of {}, {} worker{}", study, label, p, p == 1 ? "" : "s"),
            *setup, point);
        const bool same = check(point, m);
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
        fmt::print(log,
                   "{:>7} {:>10.4f} {:>10.4f} {:>10.4f} {:>6} {:>9.3f} {:>8.2f}x {:>10.3f} {:>11}  "
                   "{}\n",
                   p, m.timing.median_s, m.timing.min_s, m.timing.max_s,
                   m.timing.noisy ? "NOISY" : "ok", giters, speedup, efficiency,
                   p > 1 ? fmt::format("{:.4f}", fraction) : std::string("-"), link_shares_text(m));
        points.push_back({{"workers", p},
                          {"lanes", m.lanes},
                          {"iterations", m.iterations},
                          {"giters_per_s", giters},
                          {"speedup", speedup},
                          {"efficiency", efficiency},
                          {strong ? "karp_flatt" : "gustafson_serial_fraction",
                           p > 1 ? nlohmann::json(fraction) : nlohmann::json(nullptr)},
                          {"link_share", link_shares_json(m)},
                          {"identical_to_reference", same}});
        if (!work.is_job()) points.back()["size"] = point.size();
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
          scaler.measure(fmt::format("tile sweep of {}, its lanes", label), *setup, work);
      const int lanes = std::max(1, probe.lanes);
      fmt::print(log, "\ntile sweep of {} ({} lanes): efficiency = (serial time / lanes) / time\n",
                 label, lanes);
      fmt::print(log, "{:>12} {:>8} {:>10} {:>10} {:>10} {:>6} {:>10}\n", "tile pixels", "tiles",
                 "median s", "min s", "max s", "noise", "efficiency");
      const std::vector<std::int64_t> sizes = sweep_tile_sizes(spec);
      nlohmann::json points = nlohmann::json::array();
      for (const std::int64_t tile : sizes) {
        const Measurement m = scaler.measure(
            fmt::format("tile sweep of {}, tiles of {} px", label, tile), *setup, work, tile);
        const bool same = check(work, m);
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
          scaler.measure(fmt::format("tile sweep of {}, automatic tiles", label), *setup, work, 0);
      check(work, automatic);
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
      {"link_share", link_shares_json(baseline)},
      {"checksum", {{"sum", baseline.checksum.sum}, {"hash", baseline.checksum.hash_hex()}}}};
  baseline_entry.update(timing_json(baseline.timing));
  nlohmann::json document = {{"schema", "hetero.scale"},
                             {"schema_version", 4},
                             {"hetero_version", version_string},
                             {"workload", options.workload},
                             {"host", host_json(spec.precision, spec.mode)},
                             {"policy", to_string(policy)},
                             {"policy_one_node", to_string(alone)},
                             {"repeat", repeat},
                             {"warmup", warmup},
                             {"baseline", baseline_entry},
                             {"studies", studies}};
  if (work.is_job()) {
    document["job"] = job_json(spec);
  } else {
    document["work"] = work.describe();
    document["size"] = work.size();
  }
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

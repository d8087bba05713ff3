// The hetero subcommands and the options they share.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hetero/node.hpp"
#include "hetero/workload.hpp"

namespace CLI {
class App;
}

namespace hetero::cli {

/// Job options as typed by the user; numbers stay text until validated by the library, so
/// every bad value gets the same one-line message.
struct JobOptions {
  std::string preset;
  std::optional<std::string> xmin, xmax, ymin, ymax, center, view_width;
  std::optional<std::string> old_scale;  ///< the old name of --view-width: refused with a hint
  std::optional<std::string> width, height, max_iter;
  std::string precision = "fp64";
  std::string mode = "exact";
  std::optional<std::string> workers;
  std::string device;
  std::string kernel = "scalar";
  std::optional<std::string> device_memory;

  /// Adds these options to `command` (main.cpp: where every command's options are made).
  void add_to(CLI::App& command);
  JobRequest request() const;
};

struct RenderOptions {
  JobOptions job;
  std::string workload = "mandelbrot";          ///< mandelbrot or heat
  std::optional<std::string> size, steps;       ///< heat: grid WxH, steps; triad: elements, runs
  std::optional<std::string> checkpoint_every;  ///< heat: steps between checkpoints (--journal)
  bool explain = false;  ///< heat, triad: print the planner's prediction before each run
  /// Options of the mandelbrot workload the command line gave (refused with another workload).
  std::vector<std::string> mandelbrot_options;
  std::string backends = "threads";
  std::string policy;  ///< empty: dynamic for one node, auto for several
  bool share = false;
  bool fallback = false;  ///< run an unavailable backend's tiles on the available ones
  std::string tile = "auto";
  std::optional<std::string> out, json, trace;
  /// A journal of completed tiles to write, or one to resume from (and go on writing).
  std::optional<std::string> journal, resume;
  bool quiet = false;
};

struct CompareOptions {
  JobOptions job;
  std::string workload = "mandelbrot";          ///< mandelbrot, heat or triad
  std::optional<std::string> size, steps;       ///< as for render
  std::vector<std::string> mandelbrot_options;  ///< given on the command line
  std::string backends = "all";
  bool fallback = false;  ///< leave out backends that cannot run here, saying so
  std::string repeat = "3";
  bool together = false;
  std::string policy = "auto";
  bool share = false;
  bool python = false;  ///< also time the seed in pure Python here (tools/seed_python.py)
  std::optional<std::string> out, json;
};

struct ScaleOptions {
  JobOptions job;
  std::string workload = "mandelbrot";          ///< mandelbrot, heat or triad
  std::optional<std::string> size, steps;       ///< as for render
  std::vector<std::string> mandelbrot_options;  ///< given on the command line
  std::string backends = "all";  ///< NAME or A+B (a co-scheduled set), comma separated
  bool fallback = false;         ///< leave out backends that cannot run here, saying so
  std::string workers;           ///< comma-separated worker counts; empty: 1, 2, 4, ... cores
  std::string study = "strong";  ///< strong, weak or both
  std::string sweep;             ///< "tile": sweep the tile size instead
  std::string policy;            ///< empty: dynamic for one node, auto for several; heat: static
  std::string repeat = "3";
  std::string warmup = "1";
  std::optional<std::string> json, csv;
};

struct ProjectOptions {
  JobOptions job;
  std::string ranks = "1,2,4,...,1024";
  std::optional<std::string> latency_us, bandwidth_gbs, giters;
  std::string message_us = "1";
  std::string in_flight = "2";
  std::string tile = "auto";
  std::string backend = "threads";
  std::optional<std::string> json;
};

struct DevicesOptions {
  bool json = false;
};

struct ProbeOptions {
  std::string backends = "all";  ///< NAME[,NAME...] of device or remote nodes, or all
  bool fallback = false;         ///< leave out backends that cannot run here, saying so
  std::string device;
  bool json = false;
};

/// The backends `list` (NAME[,NAME...] or all) names under the one rule for backends that cannot
/// run here (hetero::choose_backends), checked before any work: one named that cannot run is a
/// UsageError naming --fallback unless `fallback`; what was left out is in `notes`.
struct ChosenBackends {
  std::vector<std::string> names;
  std::vector<std::string> notes;
  /// Says the notes on stderr: once the rest of the input is checked, before the work.
  void say() const;
};
ChosenBackends chosen_backends(const std::string& list, const NodeOptions& options, bool fallback,
                               std::string_view fallback_node = "threads");

int run_devices(const DevicesOptions& options);
/// Measures the links of the named nodes anew, refreshing the link cache.
int run_probe(const ProbeOptions& options);
int run_render(const RenderOptions& options);
int run_compare(const CompareOptions& options);
int run_scale(const ScaleOptions& options);

/// Refuses a backend list with a set (A+B) in a command that measures each backend alone.
void refuse_sets(const std::string& list, std::string_view command);

/// A kernel workload (heat, triad) refuses the Mandelbrot options the command line gave.
void refuse_mandelbrot_options(const std::vector<std::string>& given, std::string_view workload);
/// The Mandelbrot job refuses an unknown workload's name, and the first kernel-workload option
/// given (`given`: its name, or nullptr when none was).
void check_mandelbrot_workload(std::string_view workload, const char* given);
int run_project(const ProjectOptions& options);
/// Lists the workloads render runs, each with its own options.
int run_workloads();

}  // namespace hetero::cli

// hetero: the command-line tool (devices, probe, render, compare, scale, project).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/signals.hpp"
#include "hetero/error.hpp"
#include "hetero/heat.hpp"
#include "hetero/runtime.hpp"
#include "hetero/settings.hpp"
#include "hetero/triad.hpp"
#include "hetero/version.hpp"
#include "nodes/host_kernel.hpp"
#include "nodes/mpi/launch.hpp"

namespace hetero::cli {

void JobOptions::add_to(CLI::App& command) {
  command.add_option("--preset", preset, "seed (the PyCon 2013 tutorial grid), full or region");
  command.add_option("--xmin", xmin, "Region: left bound");
  command.add_option("--xmax", xmax, "Region: right bound");
  command.add_option("--ymin", ymin, "Region: bottom bound");
  command.add_option("--ymax", ymax, "Region: top bound");
  command.add_option("--center", center, "Region centre X,Y (with --view-width)");
  command.add_option("--view-width", view_width,
                     "Region width in the complex plane (with --center)");
  command.add_option("--scale", old_scale)->group("");  // refused in request(), with a hint
  command.add_option("--width", width, "Image width in pixels (overrides the preset)");
  command.add_option("--height", height, "Image height in pixels (overrides the preset)");
  command.add_option("--max-iter", max_iter, "Iteration limit (overrides the preset)");
  command.add_option("--precision", precision, "fp32 or fp64")->capture_default_str();
  command.add_option("--mode", mode, "exact or fma")->capture_default_str();
  command.add_option("--threads", workers, "Workers of host nodes (default: every core)");
  command.add_option("--device", device, "Device of a device node (see 'hetero devices')");
  command
      .add_option("--kernel", kernel,
                  fmt::format("Tile kernel of the threads and openmp nodes (scalar, or one of the "
                              "simd node's); the simd node runs {0} unless given another of its "
                              "own: {0} (default: the vector loop, ending a pixel whose state "
                              "repeats bit for bit or is trapped in a disk the step maps into "
                              "itself: the same counts in fewer iterations), simd "
                              "(the plain vector loop), simd-shortcuts (skips the main cardioid "
                              "and period-2 bulb)",
                              nodes::kSimdNodeKernel))
      ->capture_default_str();
  command.add_option("--device-memory", device_memory,
                     "Cap on a device node's memory: a share of its free memory or bytes "
                     "(e.g. 50%, 512M; default 90%); tiles that do not fit run in pieces");
}

}  // namespace hetero::cli

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// CLI11's messages can span lines; hetero's errors are one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Edits (insertions, deletions, substitutions) that turn `a` into `b`.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The first word of argv that starts with "--" and that no option of `command` (or of the app)
// takes, with the closest option's name when one is within two edits of it.
std::string unknown_option_hint(const CLI::App& app, const CLI::App* command, int argc,
                                char** argv) {
  std::vector<std::string> known;
  for (const CLI::App* scope : {&app, command}) {
    if (scope == nullptr) continue;
    for (const CLI::Option* option : scope->get_options()) {
      for (const std::string& name : option->get_lnames()) known.push_back("--" + name);
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    word = word.substr(0, word.find('='));
    if (word.rfind("--", 0) != 0 || std::find(known.begin(), known.end(), word) != known.end()) {
      continue;
    }
    std::string closest;
    std::size_t best = 3;
    for (const std::string& name : known) {
      const std::size_t distance = edit_distance(word, name);
      if (distance < best) {
        best = distance;
        closest = name;
      }
    }
    return closest.empty() ? fmt::format("unknown option {}", word)
                           : fmt::format("unknown option {} (did you mean {}?)", word, closest);
  }
  return {};
}

// What each option takes, as --help shows it (CLI11 says TEXT for every string option).
void name_option_types(CLI::App& app) {
  // A constant table, not a map: nothing is built at start for what only --help shows.
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"backend", "NAME[,NAME...]|all"},
      {"bandwidth-gbs", "GB/S"},
      {"center", "X,Y"},
      {"checkpoint-every", "K"},
      {"csv", "FILE|-"},
      {"device", "P:D|WORDS"},
      {"device-memory", "PERCENT%|BYTES"},
      {"giters", "GITER/S"},
      {"height", "PIXELS"},
      {"in-flight", "N"},
      {"journal", "FILE"},
      {"json", "FILE|-"},
      {"kernel", "NAME"},
      {"latency-us", "US"},
      {"max-iter", "N"},
      {"message-us", "US"},
      {"mode", "exact|fma"},
      {"out", "FILE.png"},
      {"policy", "static|weighted|dynamic|guided|auto"},
      {"precision", "fp32|fp64"},
      {"preset", "seed|full|region"},
      {"ranks", "N[,N...]"},
      {"repeat", "N"},
      {"resume", "FILE"},
      {"view-width", "WIDTH"},
      {"size", "WxH|N"},
      {"steps", "N"},
      {"study", "strong|weak|both"},
      {"sweep", "tile"},
      {"threads", "N"},
      {"tile", "N|auto"},
      {"trace", "FILE|-"},
      {"warmup", "N"},
      {"width", "PIXELS"},
      {"workers", "N[,N...]"},
      {"workload", "mandelbrot|heat|triad"},
      {"xmax", "X"},
      {"xmin", "X"},
      {"ymax", "Y"},
      {"ymin", "Y"}};
  for (CLI::App* command : app.get_subcommands({})) {
    for (CLI::Option* option : command->get_options()) {
      for (const std::string& name : option->get_lnames()) {
        const auto* type = std::find_if(std::begin(kTypes), std::end(kTypes),
                                        [&](const auto& entry) { return entry.first == name; });
        if (type != std::end(kTypes) && option->get_type_size() != 0) {
          option->type_name(std::string(type->second));
        }
      }
    }
  }
}

// The options of the Mandelbrot job that `command` was given (the job's own and `extra`), which
// the kernel workloads refuse.
std::vector<std::string> mandelbrot_options_given(const CLI::App& command,
                                                  std::initializer_list<const char*> extra) {
  std::vector<std::string> given;
  const auto check = [&](const char* option) {
    if (command.count(option) > 0) given.emplace_back(option);
  };
  for (const char* option :
       {"--preset", "--xmin", "--xmax", "--ymin", "--ymax", "--center", "--view-width", "--scale",
        "--width", "--height", "--max-iter", "--precision", "--mode", "--kernel"}) {
    check(option);
  }
  for (const char* option : extra) check(option);
  return given;
}

using namespace hetero::cli;

// The runner of a command, once its options are parsed.
using Runner = std::function<int()>;

// hetero devices
Runner add_devices(CLI::App& command) {
  auto devices = std::make_shared<DevicesOptions>();
  command.add_flag("--json", devices->json, "Print the list as JSON");
  return [devices] { return run_devices(*devices); };
}

// hetero probe
Runner add_probe(CLI::App& command) {
  auto probe = std::make_shared<ProbeOptions>();
  command.add_option("-b,--backend", probe->backends, "NAME[,NAME...] or all")
      ->capture_default_str();
  command.add_option("--device", probe->device, "Device of the device nodes (see devices)");
  command.add_flag("--json", probe->json, "Print the figures as JSON");
  command.add_flag("--fallback", probe->fallback,
                   "Leave out backends that cannot run here, and say so");
  return [probe] { return run_probe(*probe); };
}

// hetero render
Runner add_render(CLI::App& command) {
  auto render = std::make_shared<RenderOptions>();
  render->job.add_to(command);
  command
      .add_option("-b,--backend", render->backends,
                  "NAME[,NAME...] or all (under mpirun, --rank-backend NAME picks what "
                  "the remote ranks of the mpi node compute with: default threads)")
      ->capture_default_str();
  command.add_option("--policy", render->policy,
                     "static, weighted, dynamic, guided or auto (default: dynamic for one "
                     "node, auto for several)");
  command.add_flag("--share", render->share,
                   "Run nodes that share hardware as asked instead of splitting it");
  command.add_flag("--fallback", render->fallback,
                   "Run the tiles of backends that cannot run here on the others (or on "
                   "threads), and say so");
  command.add_option("--tile", render->tile, "Pixels per tile (row-major range), or auto")
      ->capture_default_str();
  command.add_option("-o,--out", render->out, "Write the image as PNG");
  command.add_option("--json", render->json, "Write the report as JSON ('-': stdout alone)");
  command.add_option("--trace", render->trace, "Write a Chrome trace (opens in Perfetto)");
  command.add_option("--journal", render->journal,
                     "Append every completed tile to this journal, so that an interrupted "
                     "run can be resumed");
  command
      .add_option("--resume", render->resume,
                  "Take the tiles this journal holds, compute the rest (on whatever backends "
                  "are asked for now) and go on journaling")
      ->excludes("--journal");
  command.add_flag("-q,--quiet", render->quiet, "Print no table");
  command.add_option("--workload", render->workload, "mandelbrot, heat or triad")
      ->capture_default_str();
  command.add_option("--size", render->size,
                     "Heat: the grid, WIDTHxHEIGHT (default 1024x1024); triad: elements "
                     "(default 16777216)");
  command.add_option("--steps", render->steps,
                     "Heat: time steps (default 100); triad: runs over the same arrays "
                     "(default 5)");
  command.add_flag("--explain", render->explain,
                   "Heat, triad: print the planner's prediction per node before each run "
                   "under --policy auto");
  command.add_option("--checkpoint-every", render->checkpoint_every,
                     "Heat: write the field to the --journal file every K steps (and at a "
                     "stop); --resume FILE restarts from it");
  command.footer("Workloads and their options: hetero workloads");
  return [render, &command] {
    render->mandelbrot_options = mandelbrot_options_given(command, {});
    return run_render(*render);
  };
}

// hetero compare
Runner add_compare(CLI::App& command) {
  auto compare = std::make_shared<CompareOptions>();
  compare->job.add_to(command);
  command.add_option("-b,--backend", compare->backends, "NAME[,NAME...] or all")
      ->capture_default_str();
  command.add_option("--repeat", compare->repeat, "Runs per backend (the median is shown)")
      ->capture_default_str();
  command.add_flag("--together", compare->together,
                   "Also run all the backends at once and rate it against their sum");
  command.add_option("--policy", compare->policy, "Policy of the --together run")
      ->capture_default_str();
  command.add_flag("--share", compare->share, "As for render");
  command.add_flag("--fallback", compare->fallback,
                   "Leave out backends that cannot run here, and say so");
  command.add_flag("--python", compare->python,
                   "Seed preset: also time the pure-Python version here (python3, at most "
                   "120 s) and give each backend's speed-up over it");
  command.add_option("-o,--out", compare->out, "Write the serial run's image as PNG");
  command.add_option("--json", compare->json, "Write the comparison as JSON ('-': stdout alone)");
  command.add_option("--workload", compare->workload, "mandelbrot, heat or triad")
      ->capture_default_str();
  command.add_option("--size", compare->size, "Heat: WIDTHxHEIGHT; triad: elements");
  command.add_option("--steps", compare->steps, "Heat: time steps; triad: runs per repeat");
  return [compare, &command] {
    compare->mandelbrot_options = mandelbrot_options_given(command, {"--python", "--out"});
    if (command.count("--policy") > 0 && !compare->together) {
      throw hetero::UsageError(
          "--policy sets the policy of the --together run, and each backend alone runs "
          "dynamic: add --together, or drop --policy");
    }
    return run_compare(*compare);
  };
}

// hetero scale
Runner add_scale(CLI::App& command) {
  auto scale = std::make_shared<ScaleOptions>();
  scale->job.add_to(command);
  command
      .add_option("-b,--backend", scale->backends,
                  "NAME or A+B (a co-scheduled set), comma separated, or all")
      ->capture_default_str();
  command.add_option("--workers", scale->workers, "Worker counts, e.g. 1,2 (default 1..cores)");
  command.add_option("--study", scale->study, "strong, weak (Gustafson) or both")
      ->capture_default_str();
  command.add_option("--sweep", scale->sweep, "tile: efficiency against the tile size");
  command.add_option("--policy", scale->policy,
                     "Policy of every run (default: dynamic for one node, auto for several; "
                     "heat: static, bands stay)");
  command.add_option("--repeat", scale->repeat, "Timed runs per point")->capture_default_str();
  command.add_option("--warmup", scale->warmup, "Untimed runs per point")->capture_default_str();
  command.add_flag("--fallback", scale->fallback,
                   "Leave out backends that cannot run here, and say so");
  command.add_option("--json", scale->json, "Write the study as JSON ('-': stdout alone)");
  command.add_option("--csv", scale->csv, "Write the points as CSV");
  command.add_option("--workload", scale->workload, "mandelbrot, heat or triad")
      ->capture_default_str();
  command.add_option("--size", scale->size,
                     "Heat: WIDTHxHEIGHT; triad: elements (the weak study grows heat's "
                     "height and triad's elements with the workers)");
  command.add_option("--steps", scale->steps, "Heat: time steps; triad: runs per repeat");
  return [scale, &command] {
    scale->mandelbrot_options = mandelbrot_options_given(command, {});
    return run_scale(*scale);
  };
}

// hetero project
Runner add_project(CLI::App& command) {
  auto project = std::make_shared<ProjectOptions>();
  project->job.add_to(command);
  command.add_option("--ranks", project->ranks, "Computing ranks, e.g. 1,2,4,...,1024")
      ->capture_default_str();
  command.add_option("--latency-us", project->latency_us,
                     "Link latency (default: measured under mpirun, else 50)");
  command.add_option("--bandwidth-gbs", project->bandwidth_gbs,
                     "Link bandwidth in GB/s (default: measured under mpirun, else 1.25)");
  command.add_option("--giters", project->giters,
                     "One rank's Giter/s (default: measured on --backend)");
  command
      .add_option("--message-us", project->message_us, "Rank 0's cost per message in microseconds")
      ->capture_default_str();
  command.add_option("--in-flight", project->in_flight, "Tiles in flight per rank")
      ->capture_default_str();
  command.add_option("--tile", project->tile, "Pixels per tile, or auto")->capture_default_str();
  command.add_option("-b,--backend", project->backend, "Node a rank computes with")
      ->capture_default_str();
  command.add_option("--json", project->json, "Write the projection as JSON ('-': stdout alone)");
  return [project] { return run_project(*project); };
}

// A command's options, added to its CLI11 command; returns what runs it once argv is parsed.
struct CommandSpec {
  const char* name;
  const char* description;
  Runner (*add)(CLI::App& command);
};

Runner add_workloads(CLI::App& /*command*/) {
  return [] { return run_workloads(); };
}

constexpr CommandSpec kCommands[] = {
    {"devices", "List every backend: available or not, and why", &add_devices},
    {"probe", "Measure the links of device and remote nodes anew (latency, bandwidth by size)",
     &add_probe},
    {"render", "Run one job on one or more backends", &add_render},
    {"compare", "Run one job on each backend in turn and compare them", &add_compare},
    {"scale", "Strong and weak scaling per backend and co-scheduled set, or a tile-size sweep",
     &add_scale},
    {"project", "Project the mpi node's dispatcher onto many ranks from measured models",
     &add_project},
    {"workloads", "List the workloads render runs, with their options", &add_workloads},
};

// Whether `word` names a command.
bool is_command(std::string_view word) {
  return std::any_of(std::begin(kCommands), std::end(kCommands),
                     [&](const CommandSpec& spec) { return word == spec.name; });
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hetero::cli;
  // The tool keeps measurements in the standard cache folder and prints the library's warnings.
  hetero::set_cache_directory(std::filesystem::path());
  hetero::set_log_sink([](std::string_view line) {
    std::fprintf(stderr, "hetero: %.*s\n", static_cast<int>(line.size()), line.data());
  });
  // Under mpirun, ranks other than 0 serve rank 0's dispatcher (the job, and the kernels of the
  // workloads) and end here. (Outside an MPI job there is nothing to serve: the kernels are not
  // made.)
  if (hetero::nodes::mpi::mpi_job_asked(argc, argv)) {
    if (const std::optional<int> status =
            hetero::Runtime::serve(argc, argv, hetero::heat_kernel(), hetero::triad_kernel())) {
      return *status;
    }
  }
  CLI::App app{"hetero: one data-parallel job across every compute resource of a machine",
               "hetero"};
  app.set_version_flag("--version", std::string("hetero ") + hetero::version_string);
  app.require_subcommand(1);

  // Only the command argv names is built (start-up is most of a small job's time); all of
  // them for help, errors and a command that does not exist, none for --version alone.
  const std::string_view asked = argc > 1 && argv[1][0] != '-' ? argv[1] : "";
  const bool version_only = argc == 2 && std::string_view(argv[1]) == "--version";
  std::vector<std::pair<CLI::App*, Runner>> commands;
  for (const CommandSpec& spec : kCommands) {
    if (version_only || (is_command(asked) && asked != spec.name)) continue;
    CLI::App* command = app.add_subcommand(spec.name, spec.description);
    commands.emplace_back(command, spec.add(*command));
  }

  name_option_types(app);

  std::vector<std::string> names;
  for (const CommandSpec& spec : kCommands) names.emplace_back(spec.name);
  // `hetero` alone or `hetero help`: the usage, on stdout for help, on stderr as an error alone.
  if (argc == 1 || (argc == 2 && std::string_view(argv[1]) == "help")) {
    std::fputs(app.help().c_str(), argc == 1 ? stderr : stdout);
    return argc == 1 ? kExitUsage : 0;
  }
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    fmt::print(stderr, "hetero: error: unknown command '{}': use {}\n", argv[1],
               fmt::join(names, ", "));
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::vector<CLI::App*> chosen = app.get_subcommands();
    const std::string hint =
        dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr
            ? unknown_option_hint(app, chosen.empty() ? nullptr : chosen.front(), argc, argv)
            : std::string();
    fmt::print(stderr, "hetero: error: {}; see 'hetero {}--help'\n",
               hint.empty() ? one_line(e.what()) : hint,
               chosen.empty() ? "" : chosen.front()->get_name() + " ");
    return kExitUsage;
  }

  install_stop_handlers();
  try {
    for (const auto& [command, run] : commands) {
      if (*command) return run();
    }
  } catch (const hetero::Cancelled& e) {
    const int signal = stop_signal();
    fmt::print(stderr, "hetero: interrupted: {}; no output was written\n", e.what());
    return 128 + (signal != 0 ? signal : 2);
  } catch (const hetero::UsageError& e) {
    fmt::print(stderr, "hetero: error: {}\n", one_line(e.what()));
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hetero: error: {}\n", one_line(e.what()));
    return kExitFailure;
  }
  return kExitUsage;
}

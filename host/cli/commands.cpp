// The hetero subcommands: devices, probe, render and compare.
#include "cli/commands.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/measure.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "cli/python_reference.hpp"
#include "cli/signals.hpp"
#include "cli/text.hpp"
#include "core/json_values.hpp"
#include "core/parse.hpp"
#include "hetero/hetero.hpp"
#include "nodes/host_kernel.hpp"

namespace hetero::cli {
namespace {

// The tutorial's published time for the seed preset in pure Python on one core.
constexpr double kSeedPythonSeconds = 11.0;
// compare's untimed runs per measurement before the timed ones (a JIT compile, first touches).
constexpr int kCompareWarmup = 1;
// The longest `compare --python` lets the pure-Python seed run.
constexpr std::chrono::seconds kPythonCap{120};

// A job's integer option (a side or the iteration limit): 1 to 2^31 - 1, the range the job
// takes, so that every wrong value gets the same message.
std::optional<std::int64_t> integer_option(std::string_view flag,
                                           const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return parse_integer(flag, *text, 1, std::numeric_limits<std::int32_t>::max());
}

NodeOptions node_options(const JobOptions& job) {
  NodeOptions options;
  if (job.workers) {
    options.workers = static_cast<int>(parse_integer("--threads", *job.workers, 1, 4096));
    const unsigned hardware = std::thread::hardware_concurrency();
    static bool warned = false;  // once per process, however many runs parse it
    if (hardware > 0 && static_cast<unsigned>(options.workers) > hardware && !warned) {
      warned = true;
      fmt::print(stderr,
                 "hetero: note: --threads {} is more than the {} hardware threads here: the "
                 "workers take turns on them\n",
                 options.workers, hardware);
    }
  }
  options.device = job.device;
  const std::vector<std::string> kernels = nodes::host_kernel_names();
  if (std::find(kernels.begin(), kernels.end(), job.kernel) == kernels.end()) {
    throw UsageError(fmt::format("unknown kernel '{}': this build has {}", job.kernel,
                                 fmt::join(kernels, ", ")));
  }
  options.kernel = job.kernel;
  if (job.device_memory) options.memory = parse_memory_cap("--device-memory", *job.device_memory);
  return options;
}

std::vector<NodeInfo> described(const NodeRegistry& registry, const std::vector<std::string>& names,
                                const NodeOptions& options) {
  std::vector<NodeInfo> infos;
  for (const std::string& name : names) infos.push_back(registry.describe(name, options));
  return infos;
}

// One note on stderr for each node option given that none of `nodes` uses: --threads when
// every node runs a fixed number of workers, --device and --device-memory when every node is a
// host node. (An mpi node passes them on to its ranks' nodes.)
void note_unused_node_options(const JobOptions& job, const std::vector<NodeInfo>& nodes) {
  std::vector<std::string> names;
  bool takes_workers = false, takes_device = false;
  for (const NodeInfo& node : nodes) {
    names.push_back(node.name);
    takes_workers = takes_workers || node.adjustable_workers || node.kind == NodeKind::remote;
    takes_device = takes_device || node.kind != NodeKind::host;
  }
  const std::string which = fmt::format("{}", fmt::join(names, ", "));
  if (job.workers && !takes_workers) {
    fmt::print(stderr,
               "hetero: note: --threads {} is not used: {} {} a fixed number of workers (threads, "
               "openmp, simd and mpi's ranks take it)\n",
               *job.workers, which, names.size() == 1 ? "runs" : "run");
  }
  for (const auto& [flag, value] : {std::pair{"--device", job.device},
                                    std::pair{"--device-memory", job.device_memory.value_or("")}}) {
    if (value.empty() || takes_device) continue;
    fmt::print(stderr,
               "hetero: note: {} {} is not used: {} {} no device of {} own (opencl, cuda, "
               "thrust and mpi's ranks take it)\n",
               flag, value, which, names.size() == 1 ? "has" : "have",
               names.size() == 1 ? "its" : "their");
  }
}

std::string link_text(const Link& link) {
  if (link.zero_copy) return "zero-copy";
  if (link.to_device_bytes_per_s <= 0 && link.to_host_bytes_per_s <= 0) {
    return "not measured yet ('hetero probe' measures it)";
  }
  return fmt::format("to device {:.1f} GB/s {:.1f} us, to host {:.1f} GB/s {:.1f} us ({})",
                     link.to_device_bytes_per_s * 1e-9, link.to_device_latency_s * 1e6,
                     link.to_host_bytes_per_s * 1e-9, link.to_host_latency_s * 1e6, link.source);
}

// "64 KiB" for 65536.
std::string size_text(std::uint64_t bytes) {
  constexpr std::string_view kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{} {}", bytes, kUnits[unit]);
}

// "pageable 64 KiB 2.1, 16 MiB 6.8 GB/s; pinned ...", or "" when nothing was measured by size.
std::string by_size_text(const Link::BySize& by_size) {
  std::vector<std::string> parts;
  for (const auto& [memory, table] :
       {std::pair{"pageable", &by_size.pageable}, std::pair{"pinned", &by_size.pinned}}) {
    if (table->empty()) continue;
    std::vector<std::string> sizes;
    for (const auto& [bytes, rate] : *table) {
      sizes.push_back(fmt::format("{} {:.1f}", size_text(bytes), rate * 1e-9));
    }
    parts.push_back(fmt::format("{} {} GB/s", memory, fmt::join(sizes, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

nlohmann::json to_json(const Link::BySize& by_size) {
  const auto table = [](const std::map<std::uint64_t, double>& rates) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [bytes, rate] : rates) out[std::to_string(bytes)] = rate;
    return out;
  };
  return {{"pageable", table(by_size.pageable)}, {"pinned", table(by_size.pinned)}};
}

nlohmann::json to_json(const Link& link) {
  return {{"zero_copy", link.zero_copy},
          {"source", link.source},
          {"to_device_latency_s", detail::measured(link.to_device_latency_s)},
          {"to_host_latency_s", detail::measured(link.to_host_latency_s)},
          {"to_device_bytes_per_s", detail::measured(link.to_device_bytes_per_s)},
          {"to_host_bytes_per_s", detail::measured(link.to_host_bytes_per_s)},
          {"to_device_bytes_per_s_by_size", to_json(link.to_device_by_size)},
          {"to_host_bytes_per_s_by_size", to_json(link.to_host_by_size)}};
}

// The image is PNG: a path that names another format is refused rather than given PNG bytes.
void check_png_path(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension != ".png") {
    throw UsageError(
        fmt::format("--out {}: the image is written as PNG; give a path ending in "
                    ".png",
                    path));
  }
}

void check_image_fits(const JobSpec& spec) {
  const std::uint64_t needed = estimate_host_bytes(spec, /*with_image=*/true);
  if (!fits_in_host_memory(needed)) {
    throw UsageError(fmt::format(
        "a {}x{} image with its PNG needs {:.1f} GiB but {:.1f} GiB is available: lower "
        "--width/--height",
        spec.width, spec.height, static_cast<double>(needed) / (1 << 30),
        static_cast<double>(available_host_bytes()) / (1 << 30)));
  }
}

// An image output: a PNG path, and memory for the image.
void check_image_output(const JobSpec& spec, const std::string& path) {
  check_png_path(path);
  check_image_fits(spec);
}

// HETERO_INJECT_FAULT=NODE:TILES[,NODE:TILES...]: a test hook that makes a node fail after
// completing that many tiles. NODE is the node's position in the run (0 first) or its name,
// when one node alone has it.
std::vector<FaultInjection> faults_from_environment(const std::vector<NodeInfo>& nodes) {
  std::vector<FaultInjection> faults;
  const char* text = std::getenv("HETERO_INJECT_FAULT");
  if (text == nullptr || *text == '\0') return faults;
  std::string_view rest(text);
  while (!rest.empty()) {
    const std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) {
      throw UsageError(fmt::format("HETERO_INJECT_FAULT: expected NODE:TILES, got '{}'", item));
    }
    const std::string_view node = item.substr(0, colon);
    std::vector<std::size_t> named;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].name == node) named.push_back(i);
    }
    if (named.size() > 1) {
      throw UsageError(fmt::format(
          "HETERO_INJECT_FAULT: {} nodes are named '{}': give the node's position instead",
          named.size(), node));
    }
    const auto position = named.empty() ? static_cast<std::size_t>(parse_integer(
                                              "HETERO_INJECT_FAULT: the node's position", node, 0,
                                              static_cast<std::int64_t>(nodes.size()) - 1))
                                        : named.front();
    faults.push_back(
        {position, parse_integer("HETERO_INJECT_FAULT", item.substr(colon + 1), 0, kInt64Max)});
  }
  return faults;
}

std::string model_text(const NodeInfo& info) {
  std::vector<std::string> parts;
  for (const Precision precision : {Precision::fp64, Precision::fp32}) {
    for (const Mode mode : {Mode::exact, Mode::fma}) {
      const ThroughputEstimate e = ThroughputModel::shared().estimate(info, precision, mode);
      parts.push_back(
          e.state == ModelState::calibrated
              ? fmt::format("{} {} {:.3f} Giter/s ({} samples)", to_string(precision),
                            to_string(mode), e.giters, e.samples)
              : fmt::format("{} {} {}", to_string(precision), to_string(mode), to_string(e.state)));
    }
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

ChosenBackends chosen_backends(const std::string& list, const NodeOptions& options, bool fallback,
                               std::string_view fallback_node) {
  const BackendChoice choice =
      choose_backends(list, NodeRegistry::builtin(), options, fallback, fallback_node);
  ChosenBackends chosen{choice.names, choice.notes};
  for (const UnavailableNode& node : choice.unavailable) {
    chosen.notes.push_back(
        fmt::format("{} cannot run here ({}); left out (--fallback)", node.name, node.reason));
  }
  return chosen;
}

void refuse_sets(const std::string& list, std::string_view command) {
  if (list.find('+') == std::string::npos) return;
  std::string commas = list;
  std::replace(commas.begin(), commas.end(), '+', ',');
  throw UsageError(fmt::format(
      "--backend '{}': {} measures each backend alone, so a set (A+B) means nothing here; list "
      "them with commas ({}){}",
      list, command, commas,
      command == "compare" ? ", and add --together to also run them all at once" : ""));
}

void ChosenBackends::say() const {
  for (const std::string& note : notes) fmt::print(stderr, "hetero: note: {}\n", note);
}

JobRequest JobOptions::request() const {
  if (old_scale) {
    throw UsageError(
        fmt::format("--scale is now --view-width (the region's width in the complex plane): use "
                    "--view-width {}",
                    *old_scale));
  }
  JobRequest request;
  request.preset = preset;
  request.precision = parse_precision(precision);
  request.mode = parse_mode(mode);
  request.width = integer_option("--width", width);
  request.height = integer_option("--height", height);
  request.max_iter = integer_option("--max-iter", max_iter);
  const int bounds = (xmin ? 1 : 0) + (xmax ? 1 : 0) + (ymin ? 1 : 0) + (ymax ? 1 : 0);
  if (bounds != 0 && (center || view_width)) {
    throw UsageError(
        "--xmin/--xmax/--ymin/--ymax and --center/--view-width exclude each other: give one form");
  }
  if (bounds != 0 && bounds != 4) {
    throw UsageError("a region needs all four of --xmin, --xmax, --ymin and --ymax");
  }
  if (bounds == 4) {
    request.region = Region{parse_real("--xmin", *xmin), parse_real("--xmax", *xmax),
                            parse_real("--ymin", *ymin), parse_real("--ymax", *ymax)};
  }
  if (center) {
    const auto comma = center->find(',');
    if (comma == std::string::npos) {
      throw UsageError(fmt::format("--center: expected X,Y, got '{}'", *center));
    }
    request.center_x = parse_real("--center X", center->substr(0, comma));
    request.center_y = parse_real("--center Y", center->substr(comma + 1));
  }
  if (view_width) request.view_width = parse_real("--view-width", *view_width);
  return request;
}

namespace {

// `hetero devices` for people: the host, then each backend with its state, lanes and device or
// reason, its model and link figures, every line wrapped at the terminal's width.
void print_devices(const NodeRegistry& registry, const std::vector<NodeInfo>& infos) {
  const std::size_t width = cli::text_width();
  const MachineModel& machine = host_machine();
  constexpr std::size_t kHostIndent = 6;
  std::string text =
      cli::wrapped("host: ",
                   fmt::format("{}, {} ({}-bit), {} FMA ports per core ({}{})", machine.cpu,
                               machine.isa, machine.vector_bits, machine.fma_ports,
                               machine.fma_ports_known ? "known: " : "", machine.fma_ports_basis),
                   kHostIndent, width);
  text += cli::wrapped(
      std::string(kHostIndent, ' '),
      fmt::format("{} physical cores ({}), {} hardware threads; {:.2f} GHz from {}", machine.cores,
                  machine.cores_basis, machine.hardware_threads, machine.ghz, machine.clock_source),
      kHostIndent, width);
  text += cli::wrapped(
      "host limit (port-bound model, exact mode): ",
      fmt::format(
          "fp64 {:.2f} Giter/s per core, {:.2f} in all; fp32 {:.2f} per core, {:.2f} in all",
          machine.peak_giters_per_core(Precision::fp64), machine.peak_giters(Precision::fp64),
          machine.peak_giters_per_core(Precision::fp32), machine.peak_giters(Precision::fp32)),
      kHostIndent, width);
  text += fmt::format("\n{:<8} {:<7} {:<10} {:>5}  {}\n", "backend", "kind", "state", "lanes",
                      "device / reason");
  constexpr std::size_t kIndent = 35;  // the device column
  const std::string under(kIndent, ' ');
  for (const NodeInfo& info : infos) {
    const Backend* backend = registry.find(info.name);
    if (!info.available) {
      text += cli::wrapped(
          fmt::format("{:<8} {:<7} {:<10} {:>5}  ", info.name, to_string(info.kind), "absent", "-"),
          info.reason, kIndent, width);
      // Devices the backend has all the same (the thrust node's OpenMP system without a GPU).
      if (backend == nullptr || !backend->built || !backend->enumerate) continue;
      for (const NodeInfo& device : backend->enumerate()) {
        if (device.available) {
          text += cli::wrapped(under, "device: " + device.device, kIndent + 2, width);
        }
      }
      continue;
    }
    text +=
        cli::wrapped(fmt::format("{:<8} {:<7} {:<10} {:>5}  ", info.name, to_string(info.kind),
                                 "available", info.concurrency),
                     fmt::format("{}; link {}", info.device, link_text(info.link)), kIndent, width);
    text += cli::wrapped(under, "model: " + model_text(info), kIndent + 2, width);
    for (const auto& [direction, by_size] : {std::pair{"to device", &info.link.to_device_by_size},
                                             std::pair{"to host", &info.link.to_host_by_size}}) {
      const std::string figures = by_size_text(*by_size);
      if (!figures.empty()) {
        text +=
            cli::wrapped(under, fmt::format("link {}: {}", direction, figures), kIndent + 2, width);
      }
    }
    if (backend == nullptr || !backend->enumerate) continue;
    for (const NodeInfo& device : backend->enumerate()) {
      text +=
          cli::wrapped(under,
                       fmt::format("device: {}{}", device.device,
                                   device.available ? "" : " (unavailable: " + device.reason + ")"),
                       kIndent + 2, width);
    }
  }
  std::fputs(text.c_str(), stdout);
}

}  // namespace

int run_devices(const DevicesOptions& options) {
  const NodeRegistry& registry = NodeRegistry::builtin();
  std::vector<NodeInfo> infos;
  for (const Backend& backend : registry.backends()) {
    infos.push_back(registry.describe(backend.name));
  }
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const NodeInfo& info : infos) {
      nlohmann::json model = nlohmann::json::object();
      for (const Precision precision : {Precision::fp64, Precision::fp32}) {
        for (const Mode mode : {Mode::exact, Mode::fma}) {
          const ThroughputEstimate e = ThroughputModel::shared().estimate(info, precision, mode);
          model[fmt::format("{}/{}", to_string(precision), to_string(mode))] = {
              {"state", to_string(e.state)}, {"giters_per_s", e.giters}, {"samples", e.samples}};
        }
      }
      list.push_back({{"name", info.name},
                      {"model", info.available ? model : nlohmann::json()},
                      {"kind", to_string(info.kind)},
                      {"available", info.available},
                      {"reason", info.reason},
                      {"device", info.device},
                      {"resource", info.resource},
                      {"concurrency", info.concurrency},
                      {"link", link_text(info.link)},
                      {"link_figures", to_json(info.link)}});
    }
    const MachineModel& machine = host_machine();
    const nlohmann::json host = {{"cpu", machine.cpu},
                                 {"isa", machine.isa},
                                 {"vector_bits", machine.vector_bits},
                                 {"fma_ports", machine.fma_ports},
                                 {"fma_ports_assumed", !machine.fma_ports_known},
                                 {"fma_ports_basis", machine.fma_ports_basis},
                                 {"ghz", machine.ghz},
                                 {"clock_source", machine.clock_source},
                                 {"cores", machine.cores},
                                 {"cores_basis", machine.cores_basis},
                                 {"hardware_threads", machine.hardware_threads},
                                 {"peak_giters_per_s",
                                  {{"fp64", machine.peak_giters(Precision::fp64)},
                                   {"fp32", machine.peak_giters(Precision::fp32)}}},
                                 {"peak_giters_per_s_per_core",
                                  {{"fp64", machine.peak_giters_per_core(Precision::fp64)},
                                   {"fp32", machine.peak_giters_per_core(Precision::fp32)}}}};
    std::cout << nlohmann::json{{"schema", "hetero.devices"},
                                {"schema_version", 1},
                                {"hetero_version", version_string},
                                {"host", host},
                                {"backends", list}}
                     .dump(2)
              << '\n';
    return 0;
  }
  print_devices(registry, infos);
  return 0;
}

int run_workloads() {
  fmt::print(
      "mandelbrot  the escape-time fractal, render's default workload: --preset seed|full|region, "
      "--width, --height, --max-iter, a region (--xmin/--xmax/--ymin/--ymax or "
      "--center/--view-width), "
      "--precision, --mode, --kernel; --journal FILE / --resume FILE\n"
      "heat        an explicit 2-D heat equation, one kernel run per step over two registered "
      "arrays: --size WIDTHxHEIGHT (default 1024x1024), --steps N (100); --checkpoint-every K "
      "with --journal FILE / --resume FILE; --explain\n"
      "triad       a = b + s * c, bandwidth-bound: --size N floats (16777216), --steps R runs over "
      "the same arrays (5); --explain\n"
      "every workload: --backend, --policy, --tile, --share, --fallback, --threads, --device, "
      "--device-memory, --json, --quiet (mandelbrot also --out, --trace; heat --out)\n"
      "render, compare and scale take --workload NAME (scale's weak study grows heat's height "
      "and triad's elements with the workers)\n");
  return 0;
}

int run_probe(const ProbeOptions& options) {
  const NodeRegistry& registry = NodeRegistry::builtin();
  NodeOptions node_options;
  node_options.device = options.device;
  std::vector<std::string> names;
  if (options.backends == "all") {
    // Every node with a link (device and remote nodes) that can run here; the others are said.
    std::vector<std::string> absent;
    for (const Backend& backend : registry.backends()) {
      if (backend.kind == NodeKind::host) continue;
      const bool available =
          backend.built && backend.probe && registry.describe(backend.name, node_options).available;
      (available ? names : absent).push_back(backend.name);
    }
    if (!absent.empty()) {
      fmt::print(stderr,
                 "hetero: note: all: {} cannot run here and {} left out ('hetero devices' says "
                 "why)\n",
                 fmt::join(absent, ", "), absent.size() == 1 ? "is" : "are");
    }
    if (names.empty()) {
      fmt::print(stderr,
                 "hetero: no node with a link to probe is available here (see 'hetero devices')\n");
      return 0;
    }
  } else {
    // Host nodes first: they have no link whether or not they can run.
    for (const std::string& name : parse_backend_list(options.backends, registry, node_options)) {
      if (registry.find(name)->kind == NodeKind::host) {
        throw UsageError(fmt::format(
            "'{}' is a host node: it shares the host's memory, so it has no link to probe; probe "
            "a device or remote node (see 'hetero devices')",
            name));
      }
    }
    // A probe has no node to fall back to: with --fallback, what cannot run is left out.
    refuse_sets(options.backends, "probe");
    const ChosenBackends chosen =
        chosen_backends(options.backends, node_options, options.fallback, "");
    chosen.say();
    names = chosen.names;
    if (names.empty()) {
      fmt::print(stderr,
                 "hetero: no node with a link to probe is available here (see 'hetero devices')\n");
      return 0;
    }
  }

  nlohmann::json list = nlohmann::json::array();
  for (const std::string& name : names) {
    if (stop_flag().load()) throw Cancelled("stopped before probing " + name);
    const NodeInfo info = registry.describe(name, node_options);
    const Link link = registry.find(name)->probe(node_options);
    if (options.json) {
      list.push_back({{"backend", name}, {"device", info.device}, {"link", to_json(link)}});
      continue;
    }
    fmt::print("{}: {}\n", name, info.device);
    fmt::print("  to device: latency {:.1f} us; {}\n", link.to_device_latency_s * 1e6,
               by_size_text(link.to_device_by_size));
    fmt::print("  to host:   latency {:.1f} us; {}\n", link.to_host_latency_s * 1e6,
               by_size_text(link.to_host_by_size));
    fmt::print("  the node's copies: to device {:.1f} GB/s, to host {:.1f} GB/s\n",
               link.to_device_bytes_per_s * 1e-9, link.to_host_bytes_per_s * 1e-9);
  }
  if (options.json) {
    std::cout << nlohmann::json{{"schema", "hetero.links"},
                                {"schema_version", 2},
                                {"hetero_version", version_string},
                                {"links", list}}
                     .dump(2)
              << '\n';
  }
  return 0;
}

namespace {

// What every workload's render does with the common options: the runtime's options, and the
// report written as JSON (a file, or stdout alone) or printed as a table.
RuntimeOptions runtime_options_of(const RenderOptions& options) {
  RuntimeOptions runtime_options;
  runtime_options.nodes = {options.backends};
  runtime_options.node_options = node_options(options.job);
  runtime_options.share = options.share;
  // Under auto (the default for several nodes), nodes on the same hardware are not split: each
  // run gives it to the one predicted fastest.
  runtime_options.fastest_on_shared = options.policy.empty() || options.policy == "auto";
  runtime_options.fallback = options.fallback;
  runtime_options.model = &ThroughputModel::shared();
  return runtime_options;
}

// The report of a render: JSON (a file, or stdout alone), or else a table unless --quiet; the
// table is left out too when another output goes to stdout.
class ReportOutput {
 public:
  // Opens the JSON file now, so that an unwritable path fails before any work.
  explicit ReportOutput(const RenderOptions& options) : options_(options), json_(options.json) {
    Output::check_one_stdout({{"--json", &options.json}, {"--trace", &options.trace}});
  }
  // Prints the table's first line before a Mandelbrot run, so that a long run says at once what
  // it computes; the table printed at the end then opens with the tiles.
  void begin(const JobSpec& job, Policy policy) {
    if (!table()) return;
    std::cout << job_line(job, policy) << std::endl;
    began_ = true;
  }
  void write(const Report& report) {
    if (json_) {
      json_.stream() << to_json(report) << '\n';
      json_.commit();
    }
    if (table()) print_table(report, std::cout, !began_);
  }

 private:
  bool table() const {
    const bool stdout_taken = json_.to_stdout() || (options_.trace && *options_.trace == "-");
    return !stdout_taken && !options_.quiet;
  }

  const RenderOptions& options_;
  Output json_;
  bool began_ = false;
};

// The options of a kernel workload's runs, and its refusal of what belongs to Mandelbrot.
LaunchOptions workload_launch(const RenderOptions& options, Policy default_policy) {
  refuse_mandelbrot_options(options.mandelbrot_options, options.workload);
  if (options.trace) {
    throw UsageError(fmt::format(
        "--trace: {} is one run per step and writes no trace yet; drop --trace", options.workload));
  }
  LaunchOptions launch;
  launch.policy = options.policy.empty() ? default_policy : parse_policy(options.policy);
  launch.tile = options.tile == "auto" ? 0 : parse_integer("--tile", options.tile, 1, kInt64Max);
  launch.stop = &stop_flag();
  if (options.explain) {
    launch.explain = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
  }
  return launch;
}

HeatCheckpoints heat_checkpoints(const RenderOptions& options) {
  HeatCheckpoints checkpoints;
  if (options.checkpoint_every) {
    if (!options.journal && !options.resume) {
      throw UsageError("--checkpoint-every needs the file to write: add --journal FILE");
    }
    checkpoints.every =
        parse_integer("--checkpoint-every", *options.checkpoint_every, 1, HeatSpec::kMaxSteps);
  } else if (options.journal) {
    throw UsageError("heat checkpoints its field every K steps: add --checkpoint-every K");
  }
  if (options.journal || options.resume) {
    checkpoints.file = options.resume ? *options.resume : *options.journal;
    checkpoints.resume = options.resume.has_value();
  }
  return checkpoints;
}

// The heat workload: runs of its step kernel on the nodes, the final field as a PNG.
int run_heat_render(const RenderOptions& options) {
  const LaunchOptions launch = workload_launch(options, Policy::static_split);
  const HeatSpec spec = KernelWorkload::parse("heat", options.size, options.steps).heat_spec;
  const HeatCheckpoints checkpoints = heat_checkpoints(options);
  std::unique_ptr<OutputFile> png_file;
  if (options.out) png_file = std::make_unique<OutputFile>(*options.out);
  ReportOutput report(options);

  Runtime runtime(runtime_options_of(options));
  note_unused_node_options(options.job, runtime.nodes());
  const HeatResult result = run_heat(runtime, spec, launch, checkpoints);
  ThroughputModel::shared().save();
  if (png_file) {
    write_field_png(png_file->stream(), result.field, spec.width, spec.height);
    png_file->commit();
  }
  report.write(result.report);
  return 0;
}

// The triad workload: `--steps` runs over the same arrays; the last run's report.
int run_triad_render(const RenderOptions& options) {
  const LaunchOptions launch = workload_launch(options, Policy::automatic);
  if (options.out || options.checkpoint_every || options.journal || options.resume) {
    throw UsageError(
        "triad draws nothing and keeps no checkpoints: drop --out, --journal, "
        "--resume and --checkpoint-every");
  }
  const TriadSpec spec = KernelWorkload::parse("triad", options.size, options.steps).triad_spec;
  ReportOutput report(options);
  Runtime runtime(runtime_options_of(options));
  note_unused_node_options(options.job, runtime.nodes());
  const TriadResult result = run_triad(runtime, spec, launch);
  ThroughputModel::shared().save();
  report.write(result.runs.back());
  return 0;
}

}  // namespace

void refuse_mandelbrot_options(const std::vector<std::string>& given, std::string_view workload) {
  if (given.empty()) return;
  throw UsageError(
      fmt::format("{} is an option of the mandelbrot workload; {} takes --size and --steps",
                  given.front(), workload));
}

void check_mandelbrot_workload(std::string_view workload, const char* given) {
  if (workload != "mandelbrot") {
    throw UsageError(fmt::format(
        "unknown workload '{}': the workloads are mandelbrot, heat and triad", workload));
  }
  if (given != nullptr) {
    throw UsageError(fmt::format(
        "{} is an option of the heat and triad workloads; add --workload heat or --workload "
        "triad",
        given));
  }
}

int run_render(const RenderOptions& options) {
  if (options.workload == "heat") return run_heat_render(options);
  if (options.workload == "triad") return run_triad_render(options);
  check_mandelbrot_workload(options.workload, options.size               ? "--size"
                                              : options.steps            ? "--steps"
                                              : options.checkpoint_every ? "--checkpoint-every"
                                              : options.explain          ? "--explain"
                                                                         : nullptr);
  const JobSpec spec = resolve_job(options.job.request());
  const std::int64_t tile =
      options.tile == "auto" ? 0 : parse_integer("--tile", options.tile, 1, kInt64Max);
  if (options.out) check_image_output(spec, *options.out);

  // Open every output first: an unwritable path fails before any work is done.
  std::unique_ptr<OutputFile> png_file;
  if (options.out) png_file = std::make_unique<OutputFile>(*options.out);
  ReportOutput report(options);
  Output trace(options.trace);

  Runtime runtime(runtime_options_of(options));
  note_unused_node_options(options.job, runtime.nodes());
  const Policy policy = options.policy.empty()
                            ? (runtime.nodes().size() > 1 ? Policy::automatic : Policy::dynamic)
                            : parse_policy(options.policy);
  const Job job(spec);
  Progress progress;
  RunOptions run_options;
  run_options.policy = policy;
  run_options.tile_pixels = tile;
  run_options.stop = &stop_flag();
  run_options.model = &ThroughputModel::shared();
  run_options.faults = faults_from_environment(runtime.nodes());
  if (options.journal || options.resume) {
    run_options.journal = options.resume ? *options.resume : *options.journal;
    run_options.resume = options.resume.has_value();
  }
  RunResult result;
  report.begin(spec, policy);
  {
    ProgressBar bar(progress, !options.quiet);
    result = runtime.run(job, run_options, &progress);
  }
  ThroughputModel::shared().save();

  if (png_file) {
    write_png(png_file->stream(), result.counts, spec.width, spec.height, spec.max_iter);
    png_file->commit();
  }
  if (trace) {
    write_chrome_trace(result.trace, trace.stream());
    trace.commit();
  }
  report.write(result.report);
  return 0;
}

namespace {

// Backend `name` as it runs here, for compare's table; nullopt, with a line in `log` saying why
// it is skipped, when it cannot.
std::optional<NodeInfo> runnable(const NodeRegistry& registry, const std::string& name,
                                 const NodeOptions& options, std::FILE* log) {
  NodeInfo info = registry.describe(name, options);
  if (info.available) return info;
  fmt::print(log, "{:<8} skipped: {}\n", name, info.reason);
  return std::nullopt;
}

// compare's backends: serial first, the reference its speed-up and checksum columns compare
// with, whether or not it was named; when it was not, a note in `chosen` says so.
std::vector<std::string> with_serial_first(ChosenBackends& chosen) {
  std::vector<std::string> names = chosen.names;
  if (std::find(names.begin(), names.end(), "serial") == names.end()) {
    chosen.notes.emplace_back(
        "serial runs first, though not named: it is the reference the speed-up and checksum "
        "columns compare with");
  }
  std::erase(names, "serial");
  names.insert(names.begin(), "serial");
  return names;
}

// One backend's repeated runs of a kernel workload: their wall times and the last run's report.
struct WorkloadRuns {
  std::vector<double> seconds;
  Report last;
};

// compare --workload heat|triad: each backend alone (serial first, the reference), a warm-up
// run then `repeat` timed ones; the median wall time, its rate, and whether the result's
// checksum is serial's.
int run_compare_workload(const CompareOptions& options) {
  refuse_mandelbrot_options(options.mandelbrot_options, options.workload);
  if (options.together) {
    throw UsageError(
        "--together compares the mandelbrot job only: drop it, or run `render "
        "--workload " +
        options.workload + "` on the set");
  }
  const auto repeat = static_cast<int>(parse_integer("--repeat", options.repeat, 1, 1000));
  const NodeOptions node_opts = node_options(options.job);
  const NodeRegistry& registry = NodeRegistry::builtin();
  ChosenBackends chosen = chosen_backends(options.backends, node_opts, options.fallback);
  note_unused_node_options(options.job, described(registry, chosen.names, node_opts));
  std::vector<std::string> names = with_serial_first(chosen);
  std::erase(names, "mpi");  // its ranks would need the workload's kernel served: render it

  const KernelWorkload workload =
      KernelWorkload::parse(options.workload, options.size, options.steps);
  LaunchOptions launch;  // each backend alone: no plan to make
  launch.policy = workload.default_policy();
  Output json(options.json);
  std::FILE* log = json.to_stdout() ? stderr : stdout;
  chosen.say();
  fmt::print(log, "{}, median of {} run(s) per backend, after one warm-up run\n",
             workload.describe(), repeat);
  fmt::print(log, "{:<8} {:>5} {:>10} {:>10} {:>10} {:>10} {:>9} {:>12} {}\n", "backend", "lanes",
             "median s", "min s", "max s", "G units/s", "speed-up", "link MB last",
             "checksum identical");
  nlohmann::json rows = nlohmann::json::array();
  Checksum reference;
  double serial_median = 0;
  bool all_identical = true;
  for (const std::string& name : names) {
    const std::optional<NodeInfo> info = runnable(registry, name, node_opts, log);
    if (!info) continue;
    Runtime runtime(exactly({{name, node_opts}}));
    workload.run(runtime, launch);  // warm-up: kernel builds, first touches
    WorkloadRuns runs;
    for (int i = 0; i < repeat; ++i) {
      if (stop_flag().load()) throw Cancelled("stopped during " + name);
      runs.last = workload.run(runtime, launch);
      runs.seconds.push_back(runs.last.wall_s);
    }
    const TimingSummary timing = summarize(runs.seconds);
    if (name == "serial") {
      reference = runs.last.checksum;
      serial_median = timing.median_s;
    }
    const bool identical = runs.last.checksum == reference;
    all_identical = all_identical && identical;
    const double units = static_cast<double>(runs.last.iterations) / timing.median_s * 1e-9;
    std::uint64_t link_bytes = 0;
    for (const NodeReport& node : runs.last.nodes) {
      link_bytes += node.bytes_to_device + node.bytes_to_host;
    }
    fmt::print(log, "{:<8} {:>5} {:>10.4f} {:>10.4f} {:>10.4f} {:>10.3f} {:>8.2f}x {:>12.1f} {}\n",
               name, info->concurrency, timing.median_s, timing.min_s, timing.max_s, units,
               serial_median / timing.median_s, static_cast<double>(link_bytes) / 1e6,
               identical ? "yes" : "DIFFERS");
    rows.push_back(
        {{"backend", name},
         {"device", info->device},
         {"lanes", info->concurrency},
         {"wall_s", timing_json(timing)},
         {"gunits_per_s", units},
         {"speedup", serial_median / timing.median_s},
         {"link_bytes_last_run", link_bytes},
         {"checksum", {{"sum", runs.last.checksum.sum}, {"hash", runs.last.checksum.hash_hex()}}},
         {"identical_to_serial", identical}});
  }
  if (json) {
    json.stream() << nlohmann::json{{"schema", "hetero.compare_workload"},
                                    {"schema_version", 2},
                                    {"hetero_version", version_string},
                                    {"workload", options.workload},
                                    {"repeat", repeat},
                                    {"backends", rows}}
                         .dump(2)
                  << '\n';
    json.commit();
  }
  if (!all_identical) {
    fmt::print(stderr, "hetero: error: some backends' results differ from serial's\n");
    return 1;
  }
  return 0;
}

}  // namespace

int run_compare(const CompareOptions& options) {
  refuse_sets(options.backends, "compare");
  if (options.workload == "heat" || options.workload == "triad") {
    return run_compare_workload(options);
  }
  check_mandelbrot_workload(options.workload, options.size    ? "--size"
                                              : options.steps ? "--steps"
                                                              : nullptr);
  const JobSpec spec = resolve_job(options.job.request());
  const auto repeat = static_cast<int>(parse_integer("--repeat", options.repeat, 1, 1000));
  const NodeOptions node_opts = node_options(options.job);
  const NodeRegistry& registry = NodeRegistry::builtin();
  ChosenBackends chosen = chosen_backends(options.backends, node_opts, options.fallback);
  note_unused_node_options(options.job, described(registry, chosen.names, node_opts));
  const std::vector<std::string> names = with_serial_first(chosen);
  if (options.out) check_image_output(spec, *options.out);

  const bool json_to_stdout = options.json && *options.json == "-";
  std::unique_ptr<OutputFile> png_file, json_file;
  if (options.out) png_file = std::make_unique<OutputFile>(*options.out);
  if (options.json && !json_to_stdout) json_file = std::make_unique<OutputFile>(*options.json);

  const Job job(spec);
  const bool seed = spec.preset == "seed";
  const bool seed_as_published = seed && spec.width == 500 && spec.height == 500 &&
                                 spec.max_iter == 1000 && spec.precision == Precision::fp64 &&
                                 spec.mode == Mode::exact;
  if (options.python && !seed_as_published) {
    throw UsageError(
        "--python: the pure-Python reference computes the seed preset as published (500x500, "
        "max-iter 1000, fp64 exact); drop the size, iteration and precision options");
  }
  struct Row {
    std::string name, device;
    int lanes = 0;
    TimingSummary timing;
    double giters = 0;            ///< iterations performed per second
    double effective_giters = 0;  ///< iterations the counts stand for, per second
    Checksum checksum;
    bool on_host_cpu = false;  ///< runs on the host's cores: compared with the host's limit
  };
  std::vector<Row> rows;
  Counts reference_counts;
  std::FILE* log = json_to_stdout ? stderr : stdout;
  fmt::print(log, "{} {}x{}, max-iter {}, {} {}, median of {} run(s) per backend\n", spec.preset,
             spec.width, spec.height, spec.max_iter, to_string(spec.precision),
             to_string(spec.mode), repeat);
  fmt::print(log,
             "host limit: {:.2f} Giter/s ({} at {:.2f} GHz x {} FMA ports{} x {} physical cores, "
             "{} model)\n",
             host_machine().peak_giters(spec.precision, spec.mode), host_machine().isa,
             host_machine().ghz, host_machine().fma_ports,
             host_machine().fma_ports_known ? "" : " (assumed)", host_machine().cores,
             to_string(spec.precision));
  const double limit = host_machine().peak_giters(spec.precision, spec.mode);
  fmt::print(log, "{:<8} {:>5} {:>10} {:>10} {:>10} {:>9} {:>8} {:>9} {:>12} {}\n", "backend",
             "lanes", "median s", "min s", "max s", "Giter/s", "% limit", "speed-up", "checksum",
             "identical");
  chosen.say();
  PointProgress progress("compare", names.size(), true);
  const std::string runs_per_point =
      fmt::format("{} warm-up + {} timed runs", kCompareWarmup, repeat);
  for (const std::string& name : names) {
    const std::optional<NodeInfo> info = runnable(registry, name, node_opts, log);
    if (!info) {
      progress.add_points(-1);
      continue;
    }
    Runtime runtime(exactly({{name, node_opts}}));
    RunOptions run_options;
    run_options.stop = &stop_flag();
    run_options.model = &ThroughputModel::shared();
    progress.begin(fmt::format("{} alone, {}", name, runs_per_point));
    TimedRuns measured = runtime.time(job, run_options, kCompareWarmup, repeat);
    progress.end();
    RunResult& result = measured.last;
    Row row;
    row.name = name;
    row.device = info->device;
    row.lanes = info->concurrency;
    row.timing = measured.timing;
    row.checksum = result.report.checksum;
    row.giters = static_cast<double>(result.report.iterations) / row.timing.median_s * 1e-9;
    row.effective_giters =
        static_cast<double>(result.report.effective_iterations) / row.timing.median_s * 1e-9;
    row.on_host_cpu = info->kind == NodeKind::host || info->resource == "host-cpu";
    if (rows.empty()) reference_counts = std::move(result.counts);
    const Row& serial = rows.empty() ? row : rows.front();
    const bool identical = row.checksum == serial.checksum;
    fmt::print(
        log, "{:<8} {:>5} {:>10.4f} {:>10.4f} {:>10.4f} {:>9.3f} {:>8} {:>8.2f}x {:>12} {}\n",
        row.name, row.lanes, row.timing.median_s, row.timing.min_s, row.timing.max_s, row.giters,
        row.on_host_cpu ? fmt::format("{:.1f}%", row.giters / limit * 100) : std::string("-"),
        serial.timing.median_s / row.timing.median_s, row.checksum.sum, identical ? "yes" : "NO");
    if (row.effective_giters > row.giters) {
      fmt::print(log,
                 "{:<8} {:.3f} Giter/s effective: the counts stand for more iterations than were "
                 "performed (points settled without iterating); % limit counts performed ones\n",
                 "", row.effective_giters);
    }
    rows.push_back(std::move(row));
  }
  PythonReference python;
  if (options.python) {
    python = run_python_reference(kPythonCap);
    if (python.ran) {
      fmt::print(log, "pure Python, measured here: {:.3f} s, counts sum {} ({}):", python.seconds,
                 python.sum,
                 python.sum == rows.front().checksum.sum ? "same as serial" : "DIFFERS");
      for (const Row& row : rows)
        fmt::print(log, " {} {:.0f}x", row.name, python.seconds / row.timing.median_s);
      fmt::print(log, "\n");
    } else {
      fmt::print(log, "pure Python: no measurement ({})\n", python.why_not);
    }
  }
  if (seed) {
    fmt::print(
        log,
        "against the pure-Python time the tutorial published in 2013 ({:.0f} s on one core of "
        "another machine, not measured here):",
        kSeedPythonSeconds);
    for (const Row& row : rows) {
      fmt::print(log, " {} {:.0f}x", row.name, kSeedPythonSeconds / row.timing.median_s);
    }
    fmt::print(log, "\n");
  }

  // --together: the planned set alone (each node with the workers it gets in the set) and
  // all at once; efficiency is the set's throughput over the sum of its nodes' own.
  nlohmann::json together_json;
  bool together_identical = true;
  if (options.together) {
    const std::vector<std::string>& requested = chosen.names;
    const Policy policy = parse_policy(options.policy);
    const Sharing sharing = options.share                 ? Sharing::all
                            : policy == Policy::automatic ? Sharing::fastest
                                                          : Sharing::split;
    const NodePlan plan = plan_nodes(requested, node_opts, sharing, registry);
    for (const std::string& note : plan.notes) fmt::print(log, "note: {}\n", note);
    if (plan.names.size() < 2) {
      throw UsageError("--together needs two or more backends that can run at once");
    }
    progress.add_points(static_cast<std::ptrdiff_t>(plan.names.size()) + 1);
    auto median_run = [&](Runtime& runtime) {
      RunOptions run_options;
      run_options.policy = runtime.nodes().size() == 1 ? Policy::dynamic : policy;
      run_options.stop = &stop_flag();
      run_options.model = &ThroughputModel::shared();
      TimedRuns measured = runtime.time(job, run_options, kCompareWarmup, repeat);
      return std::make_pair(measured.timing.median_s, std::move(measured.last));
    };
    std::vector<NodeSpec> set;
    for (std::size_t i = 0; i < plan.names.size(); ++i) {
      set.push_back({plan.names[i], plan.options[i]});
    }
    double ideal = 0, best_alone = 0;
    std::string best_alone_name;
    nlohmann::json alone = nlohmann::json::array();
    for (std::size_t i = 0; i < plan.names.size(); ++i) {
      Runtime alone_runtime(exactly({set[i]}));
      const int lanes = alone_runtime.lanes();
      progress.begin(fmt::format("{} alone in the set, {}", plan.names[i], runs_per_point));
      auto [wall, result] = median_run(alone_runtime);
      progress.end();
      const double giters = static_cast<double>(result.report.iterations) / wall * 1e-9;
      ideal += giters;
      if (giters > best_alone) {
        best_alone = giters;
        best_alone_name = plan.names[i];
      }
      fmt::print(log, "alone    {:<8} {:>3} lanes {:>10.4f} s {:>9.3f} Giter/s\n", plan.names[i],
                 lanes, wall, giters);
      alone.push_back({{"backend", plan.names[i]},
                       {"lanes", lanes},
                       {"wall_s", wall},
                       {"giters_per_s", giters}});
    }
    RuntimeOptions together_options = exactly(set);
    together_options.fastest_on_shared = sharing == Sharing::fastest;
    Runtime together(together_options);
    progress.begin(fmt::format("{} together, {}", fmt::join(plan.names, "+"), runs_per_point));
    auto [wall, result] = median_run(together);
    progress.end();
    const double giters = static_cast<double>(result.report.iterations) / wall * 1e-9;
    together_identical = rows.empty() || result.report.checksum == rows.front().checksum;
    fmt::print(log,
               "together {} ({}): {:.4f} s, {:.3f} Giter/s of an ideal {:.3f}: efficiency {:.3f}, "
               "checksum {} {}\n",
               fmt::join(plan.names, "+"), to_string(policy), wall, giters, ideal, giters / ideal,
               result.report.checksum.sum, together_identical ? "identical" : "DIFFERS");
    fmt::print(log, "  against the best alone, {} at {:.3f} Giter/s: {:.3f}\n", best_alone_name,
               best_alone, giters / best_alone);
    for (const std::string& note : result.report.notes) fmt::print(log, "  note: {}\n", note);
    for (const NodeReport& node : result.report.nodes) {
      fmt::print(log, "  {:<8} {:>5.1f}% of tiles, {:>5.1f}% of iterations, idle {:.4f} s\n",
                 node.name, node.tile_share * 100, node.iteration_share * 100, node.idle_s);
    }
    together_json = {{"backends", plan.names},
                     {"policy", to_string(policy)},
                     {"notes", plan.notes},
                     {"alone", alone},
                     {"wall_s", wall},
                     {"giters_per_s", giters},
                     {"ideal_giters_per_s", ideal},
                     {"efficiency", giters / ideal},
                     {"best_alone",
                      {{"backend", best_alone_name},
                       {"giters_per_s", best_alone},
                       {"efficiency", giters / best_alone}}},
                     {"identical_to_serial", together_identical}};
  }
  ThroughputModel::shared().save();

  bool all_identical = true;
  nlohmann::json list = nlohmann::json::array();
  for (const Row& row : rows) {
    const bool identical = row.checksum == rows.front().checksum;
    all_identical = all_identical && identical;
    nlohmann::json entry = {
        {"backend", row.name},
        {"device", row.device},
        {"lanes", row.lanes},
        {"wall_s", timing_json(row.timing)},
        {"giters_per_s", row.giters},
        {"effective_giters_per_s", row.effective_giters},
        {"on_host_cpu", row.on_host_cpu},
        {"speedup_over_serial", rows.front().timing.median_s / row.timing.median_s},
        {"checksum", {{"sum", row.checksum.sum}, {"hash", row.checksum.hash_hex()}}},
        {"identical_to_serial", identical}};
    // The host's limit bounds only what runs on its cores.
    if (row.on_host_cpu) entry["share_of_host_limit"] = row.giters / limit;
    // Against a time published in 2013 on another machine, not measured here.
    if (seed)
      entry["speedup_over_published_python_time"] = kSeedPythonSeconds / row.timing.median_s;
    if (python.ran) entry["speedup_over_python_measured"] = python.seconds / row.timing.median_s;
    list.push_back(std::move(entry));
  }
  if (png_file) {
    write_png(png_file->stream(), reference_counts, spec.width, spec.height, spec.max_iter);
    png_file->commit();
    fmt::print(log, "wrote {}\n", png_file->destination().string());
  }
  if (options.json) {
    const std::string json = nlohmann::json{
        {"schema", "hetero.compare"},
        {"schema_version", 4},
        {"hetero_version", version_string},
        {"job", job_json(spec)},
        {"warmup", kCompareWarmup},
        {"repeat", repeat},
        {"host", host_json(spec.precision, spec.mode)},
        {"backends", list},
        {"together", together_json},
        {"python",
         options.python
             ? nlohmann::json{{"ran", python.ran},
                              {"why_not", python.why_not},
                              {"seconds", python.seconds},
                              {"sum", python.sum},
                              {"identical_to_serial",
                               python.ran && python.sum == rows.front().checksum.sum}}
             : nlohmann::json()}}.dump(2);
    if (json_file) {
      json_file->stream() << json << '\n';
      json_file->commit();
    } else {
      std::cout << json << '\n';
    }
  }
  if (python.ran && python.sum != rows.front().checksum.sum) all_identical = false;
  if (!all_identical || !together_identical) {
    fmt::print(stderr, "hetero: error: some backends' counts differ from serial (see the table)\n");
    return 1;
  }
  return 0;
}

}  // namespace hetero::cli

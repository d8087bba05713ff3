// hetero-bench: one Google Benchmark family per backend and (precision, mode), on the full
// preset (the simd node with its plain vector loop, kernel "simd", whose performed iterations
// per second are comparable with the port-bound host limit, and again as render/.../simd-cycles
// with its default kernel, which stops at repeating states: `iterations` counts those it
// performed, `effective_iterations` those its counts stand for); for device nodes the copy
// bandwidth over their link per size; the heat workload (20 steps on a --size square grid) and the
// triad (2^22 floats, arrays resident or staged) per backend; every pair of nodes on the host CPU
// under auto against the best of them alone; the start-up of the hetero CLI as a whole process
// (`hetero --version`, a 1x1 render). Its own flags (--flag=VALUE or --flag VALUE, listed by
// --help before Google Benchmark's): --backend NAME[,NAME...] (default: every available backend),
// --size PIXELS (square image side, default 512), --max-iter N (default 1000).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "core/host_info.hpp"
#include "core/parse.hpp"
#include "hetero/backend/dispatcher.hpp"
#include "hetero/hetero.hpp"

namespace {

constexpr int kSchemaVersion = 1;

struct BenchConfig {
  std::string backends = "all";
  std::int64_t size = 512;
  std::int64_t max_iter = 1000;
};

constexpr const char* kOwnFlags =
    "hetero-bench's own flags (each as --flag=VALUE or --flag VALUE):\n"
    "  --backend NAME[,NAME...]|all  backends to measure (default: every available one)\n"
    "  --size N                      side of the square image and heat grid (default 512)\n"
    "  --max-iter N                  Mandelbrot's iteration limit (default 1000)\n"
    "Google Benchmark's flags follow.\n";

// Takes hetero's own flags out of argv (as --flag=VALUE or --flag VALUE), leaving Google
// Benchmark's; prints the own flags first when --help is asked for.
BenchConfig take_own_flags(int& argc, char** argv) {
  BenchConfig config;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value_of = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (arg.rfind(std::string(flag) + "=", 0) == 0) return arg.substr(flag.size() + 1);
      if (arg != flag) return std::nullopt;
      if (i + 1 >= argc) throw hetero::UsageError(fmt::format("{}: expected a value", flag));
      return std::string_view(argv[++i]);
    };
    if (const auto backend = value_of("--backend")) {
      config.backends = std::string(*backend);
    } else if (const auto size = value_of("--size")) {
      config.size = hetero::parse_integer("--size", *size, 1, 1 << 16);
    } else if (const auto max_iter = value_of("--max-iter")) {
      config.max_iter = hetero::parse_integer("--max-iter", *max_iter, 1, 1 << 30);
    } else {
      if (arg == "--help" || arg == "-h") std::fputs(kOwnFlags, stdout);
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return config;
}

// The checksum every run of `spec` must give: the serial node's, computed once per spec.
const hetero::Checksum& reference_checksum(const hetero::JobSpec& spec) {
  static std::map<
      std::tuple<std::int64_t, std::int64_t, std::uint32_t, hetero::Precision, hetero::Mode>,
      hetero::Checksum>
      known;
  const auto key =
      std::make_tuple(spec.width, spec.height, spec.max_iter, spec.precision, spec.mode);
  if (const auto it = known.find(key); it != known.end()) return it->second;
  std::vector<std::unique_ptr<hetero::Node>> nodes;
  nodes.push_back(hetero::NodeRegistry::builtin().create("serial"));
  hetero::Dispatcher serial(std::move(nodes));
  return known.emplace(key, serial.run(hetero::Job(spec)).report.checksum).first->second;
}

// One job on one node per iteration, after an untimed warm-up run; every run's checksum must be
// the serial node's. Rates count work performed: iterations, pixels, bytes over the link; and
// the iterations the counts stand for (more than those performed where the kernel skips some).
void render(benchmark::State& state, const std::string& backend, const hetero::NodeOptions& options,
            hetero::JobSpec spec) {
  std::vector<std::unique_ptr<hetero::Node>> nodes;
  nodes.push_back(hetero::NodeRegistry::builtin().create(backend, options));
  hetero::Dispatcher dispatcher(std::move(nodes));
  const hetero::Job job(spec);
  const hetero::Checksum& expected = reference_checksum(spec);
  hetero::RunResult result = dispatcher.run(job);  // warm-up: first touches, kernel builds
  std::uint64_t iterations = 0, effective = 0, bytes = 0;
  std::int64_t pixels = 0;
  for (auto _ : state) {
    result = dispatcher.run(job);
    benchmark::DoNotOptimize(result.counts.data());
    iterations += result.report.iterations;
    effective += result.report.effective_iterations;
    pixels += spec.pixels();
    for (const auto& node : result.report.nodes) bytes += node.bytes_to_device + node.bytes_to_host;
    if (result.report.checksum != expected) {
      state.SkipWithError(fmt::format("checksum {} {} differs from serial's {} {}",
                                      result.report.checksum.sum, result.report.checksum.hash_hex(),
                                      expected.sum, expected.hash_hex())
                              .c_str());
      return;
    }
  }
  using benchmark::Counter;
  state.counters["iterations"] = Counter(static_cast<double>(iterations), Counter::kIsRate);
  state.counters["effective_iterations"] =
      Counter(static_cast<double>(effective), Counter::kIsRate);
  state.counters["pixels"] = Counter(static_cast<double>(pixels), Counter::kIsRate);
  state.counters["link_bytes"] = Counter(static_cast<double>(bytes), Counter::kIsRate);
  state.counters["peak_host_MiB"] =
      static_cast<double>(result.report.peak_host_bytes) / (1024.0 * 1024.0);
  state.counters["peak_device_MiB"] =
      static_cast<double>(result.report.nodes.front().peak_device_bytes) / (1024.0 * 1024.0);
}

void copy_over_link(benchmark::State& state, const std::string& backend, bool to_device) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  auto node = hetero::NodeRegistry::builtin().create(backend);
  hetero::MemorySpace* space = node->memory_space();
  if (space == nullptr) {
    state.SkipWithError("the node has no memory space of its own");
    return;
  }
  hetero::Buffer<std::byte> device(*space, bytes);
  std::vector<std::byte> host(bytes, std::byte{1});
  for (auto _ : state) {
    if (to_device) {
      space->copy_from_host(device.data(), host.data(), bytes);
    } else {
      space->copy_to_host(host.data(), device.data(), bytes);
    }
    benchmark::ClobberMemory();
  }
  using benchmark::Counter;
  state.counters["bytes"] = Counter(static_cast<double>(bytes), Counter::kIsIterationInvariantRate);
  // Like with like: the host side is pageable memory, so the probe's pageable figure, at the
  // probed copy size nearest to this one (0 where the probe swept no sizes).
  const hetero::Link& link = node->info().link;
  const auto& table = (to_device ? link.to_device_by_size : link.to_host_by_size).pageable;
  double probe_bytes_per_s = 0;
  std::uint64_t probe_size = 0;
  for (const auto& [size, rate] : table) {
    const auto distance = [&](std::uint64_t s) { return s > bytes ? s - bytes : bytes - s; };
    if (probe_size == 0 || distance(size) < distance(probe_size)) {
      probe_size = size;
      probe_bytes_per_s = rate;
    }
  }
  state.counters["probe_pageable_GB/s"] = probe_bytes_per_s * 1e-9;
  state.counters["probe_size_bytes"] = static_cast<double>(probe_size);
  state.counters["peak_device_MiB"] = static_cast<double>(space->peak_bytes()) / (1024.0 * 1024.0);
}

// The runtime's cost per tile of a user kernel: a kernel that does almost nothing (out[i] = i)
// in tiles of `tile` elements on one node; each run's result is checked.
void kernel_tile_overhead(benchmark::State& state, const std::string& backend) {
  const std::int64_t elements = 20000;
  const std::int64_t tile = state.range(0);
  const auto fill =
      hetero::make_kernel("fill", [](hetero::Tile1D t, hetero::View<std::int64_t> out) {
        for (std::int64_t i = t.begin; i < t.end; ++i) out[i] = i;
      });
  hetero::RuntimeOptions options;
  options.nodes = {backend};
  hetero::Runtime runtime(options);
  std::vector<std::int64_t> out(static_cast<std::size_t>(elements));
  hetero::LaunchOptions launch;
  launch.tile = tile;
  runtime.run(fill, hetero::Grid1D{elements}, hetero::write(out), launch);  // warm-up
  std::int64_t tiles = 0;
  for (auto _ : state) {
    std::fill(out.begin(), out.end(), -1);
    const hetero::LaunchResult result =
        runtime.run(fill, hetero::Grid1D{elements}, hetero::write(out), launch);
    tiles += result.report.tiles;
    for (std::int64_t i = 0; i < elements; ++i) {
      if (out[static_cast<std::size_t>(i)] != i) {
        state.SkipWithError("a kernel run left a wrong element");
        return;
      }
    }
  }
  using benchmark::Counter;
  state.counters["tiles"] = Counter(static_cast<double>(tiles), Counter::kAvgIterations);
  state.counters["tile_ns"] =
      Counter(static_cast<double>(tiles), Counter::kIsRate | Counter::kInvert);
}

// The heat workload on one node: `spec.steps` steps per iteration (fields made, stepped and
// read back), after an untimed warm-up run; every run's final field must be serial's.
void heat(benchmark::State& state, const std::string& backend, const hetero::HeatSpec& spec) {
  hetero::RuntimeOptions serial_options, options;
  serial_options.exact_nodes = {{"serial", {}}};
  options.exact_nodes = {{backend, {}}};
  hetero::Runtime serial(serial_options), runtime(options);
  const hetero::Checksum expected = hetero::run_heat(serial, spec).report.checksum;
  hetero::run_heat(runtime, spec);  // warm-up: kernel builds, first touches
  std::uint64_t cells = 0, bytes = 0;
  for (auto _ : state) {
    const hetero::HeatResult result = hetero::run_heat(runtime, spec);
    if (result.report.checksum != expected) {
      state.SkipWithError("the final field differs from serial's");
      return;
    }
    cells += result.report.iterations;
    for (const auto& node : result.report.nodes) bytes += node.bytes_to_device + node.bytes_to_host;
  }
  using benchmark::Counter;
  state.counters["cells"] = Counter(static_cast<double>(cells), Counter::kIsRate);
  state.counters["link_bytes"] = Counter(static_cast<double>(bytes), Counter::kIsRate);
}

// One triad run (a = b + s c) per iteration on one node, over registered arrays that stay where
// the node computed them (`resident`), or over plain host arrays copied in and out every run.
// The result is checked against the plain loop after the timed runs; `bytes` counts the triad's
// own 12 bytes per element, `link_bytes` what crossed the node's link.
void triad(benchmark::State& state, const std::string& backend, std::int64_t n, bool resident) {
  hetero::RuntimeOptions options;
  options.exact_nodes = {{backend, {}}};
  hetero::Runtime runtime(options);
  std::vector<float> b(static_cast<std::size_t>(n)), c(b.size()), a(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    b[i] = static_cast<float>(i % 1000);
    c[i] = static_cast<float>(i % 7);
  }
  hetero::Array<float> ra(n), rb(n), rc(n);
  std::copy(b.begin(), b.end(), rb.acquire_write().view().begin());
  std::copy(c.begin(), c.end(), rc.acquire_write().view().begin());
  const auto run = [&] {
    return resident ? runtime.run(hetero::triad_kernel(), hetero::Grid1D{n}, hetero::read_slice(rb),
                                  hetero::read_slice(rc), hetero::write(ra), hetero::kTriadScalar)
                    : runtime.run(hetero::triad_kernel(), hetero::Grid1D{n}, hetero::read_slice(b),
                                  hetero::read_slice(c), hetero::write(a), hetero::kTriadScalar);
  };
  run();  // warm-up: kernel builds, first touches, a resident run's first copies
  std::uint64_t link_bytes = 0;
  for (auto _ : state) {
    for (const auto& node : run().report.nodes) {
      link_bytes += node.bytes_to_device + node.bytes_to_host;
    }
  }
  const auto result = ra.acquire_read();
  const std::span<const float> computed = resident ? result.view() : std::span<const float>(a);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (computed[i] != b[i] + hetero::kTriadScalar * c[i]) {
      state.SkipWithError("a triad element differs from the plain loop");
      return;
    }
  }
  using benchmark::Counter;
  state.counters["bytes"] =
      Counter(12.0 * static_cast<double>(n), Counter::kIsIterationInvariantRate);
  state.counters["link_bytes"] = Counter(static_cast<double>(link_bytes), Counter::kIsRate);
}

// Two nodes on the host CPU under auto (each given all of it, the run keeping the one predicted
// fastest) against each node alone, interleaved in every iteration (in rotating order) after
// untimed warm-ups (which calibrate the model the runs share). The time is the pair's;
// `vs_best_alone` is the best alone's total time over the pair's: at least 0.95 when auto never
// loses to it.
void auto_pair(benchmark::State& state, const std::string& first, const std::string& second,
               const hetero::JobSpec& spec) {
  hetero::ThroughputModel model;
  const auto runtime_on = [&](std::vector<std::string> names) {
    hetero::RuntimeOptions options;
    options.nodes = std::move(names);
    options.fastest_on_shared = true;
    options.model = &model;
    return std::make_unique<hetero::Runtime>(options);
  };
  const std::array<std::unique_ptr<hetero::Runtime>, 3> runtimes{
      runtime_on({first, second}), runtime_on({first}), runtime_on({second})};
  hetero::RunOptions options;
  options.policy = hetero::Policy::automatic;
  options.model = &model;
  const hetero::Job job(spec);
  const hetero::Checksum& expected = reference_checksum(spec);
  for (const auto& runtime : runtimes) runtime->run(job, options);  // warm-up, calibration
  std::array<double, 3> seconds{};
  std::size_t rotation = 0;  // each run goes first, second and third in turn
  for (auto _ : state) {
    for (std::size_t step = 0; step < runtimes.size(); ++step) {
      const std::size_t k = (rotation + step) % runtimes.size();
      const hetero::RunResult result = runtimes[k]->run(job, options);
      if (result.report.checksum != expected) {
        state.SkipWithError("a run's checksum differs from serial's");
        return;
      }
      seconds[k] += result.report.wall_s;
      if (k == 0) state.SetIterationTime(result.report.wall_s);
    }
    ++rotation;
  }
  state.counters["vs_best_alone"] = std::min(seconds[1], seconds[2]) / seconds[0];
}

// The hetero CLI: the one installed beside this binary, else the one of its build tree; empty
// when there is neither.
std::filesystem::path hetero_cli() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error && std::filesystem::exists(self.parent_path() / "hetero")) {
    return self.parent_path() / "hetero";
  }
#ifdef HETERO_CLI_PATH
  if (std::filesystem::exists(HETERO_CLI_PATH)) return HETERO_CLI_PATH;
#endif
  return {};
}

// Runs `cli` with `arguments` as a whole process (posix_spawn, output to /dev/null) and waits
// for it; false, with `why`, when it cannot start or does not exit with 0.
bool run_process(const std::filesystem::path& cli, const std::vector<std::string>& arguments,
                 std::string& why) {
  std::vector<char*> argv;
  std::string program = cli.string();
  argv.push_back(program.data());
  std::vector<std::string> copies = arguments;
  for (std::string& argument : copies) argv.push_back(argument.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    why = fmt::format("cannot start {}: {}", program, std::strerror(spawned));
    return false;
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    why = fmt::format("{} {} did not exit with 0", program, fmt::join(arguments, " "));
    return false;
  }
  return true;
}

// The whole-process start-up of the CLI: one spawn and wait per iteration (what a user's shell
// pays), the process's exit status checked each time.
void start_up(benchmark::State& state, const std::filesystem::path& cli,
              const std::vector<std::string>& arguments) {
  std::string why;
  for (auto _ : state) {
    if (!run_process(cli, arguments, why)) {
      state.SkipWithError(why.c_str());
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Link probes are kept in the standard cache folder; the library's warnings go to stderr.
  hetero::set_cache_directory(std::filesystem::path());
  hetero::set_log_sink([](std::string_view line) { fmt::print(stderr, "hetero: {}\n", line); });
  BenchConfig config;
  std::vector<std::string> backends;
  try {
    config = take_own_flags(argc, argv);
    backends = hetero::parse_backend_list(config.backends, hetero::NodeRegistry::builtin());
    for (const std::string& name : backends) {
      const hetero::NodeInfo info = hetero::NodeRegistry::builtin().describe(name);
      if (!info.available) {
        throw hetero::UsageError(fmt::format("backend '{}' is unavailable: {}", name, info.reason));
      }
    }
  } catch (const hetero::Error& e) {
    fmt::print(stderr, "hetero-bench: error: {}\n", e.what());
    return 2;
  }

  benchmark::AddCustomContext("hetero_schema_version", std::to_string(kSchemaVersion));
  benchmark::AddCustomContext("hetero_version", hetero::version_string);
  benchmark::AddCustomContext("cpu_model", hetero::detail::host_cpu_name());
  const hetero::MachineModel& machine = hetero::host_machine();
  benchmark::AddCustomContext(
      "isa", fmt::format("{} ({}-bit, {} FMA ports, {:.2f} GHz)", machine.isa, machine.vector_bits,
                         machine.fma_ports, machine.ghz));
  benchmark::AddCustomContext(
      "host_limit_giters",
      fmt::format("fp64 {:.2f}, fp32 {:.2f}", machine.peak_giters(hetero::Precision::fp64),
                  machine.peak_giters(hetero::Precision::fp32)));
  benchmark::AddCustomContext(
      "job", fmt::format("full {}x{} max-iter {}", config.size, config.size, config.max_iter));
  std::vector<std::string> built;
  for (const hetero::Backend& backend : hetero::NodeRegistry::builtin().backends()) {
    const hetero::NodeInfo info = hetero::NodeRegistry::builtin().describe(backend.name);
    if (backend.built) built.push_back(backend.name);
    benchmark::AddCustomContext("backend." + backend.name,
                                info.available ? info.device : "unavailable: " + info.reason);
  }
  benchmark::AddCustomContext("backends_built", fmt::format("{}", fmt::join(built, ",")));

  for (const std::string& name : backends) {
    for (const hetero::Precision precision : {hetero::Precision::fp64, hetero::Precision::fp32}) {
      for (const hetero::Mode mode : {hetero::Mode::exact, hetero::Mode::fma}) {
        hetero::JobRequest request;
        request.preset = "full";
        request.width = config.size;
        request.height = config.size;
        request.max_iter = config.max_iter;
        request.precision = precision;
        request.mode = mode;
        const hetero::JobSpec spec = hetero::resolve_job(request);
        const std::string family =
            fmt::format("render/{}/{}/{}", name, to_string(precision), to_string(mode));
        // The simd node under its name runs the plain loop; its default kernel runs apart.
        hetero::NodeOptions options;
        if (name == "simd") options.kernel = "simd";
        benchmark::RegisterBenchmark(
            family.c_str(),
            [name, options, spec](benchmark::State& state) { render(state, name, options, spec); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        if (name != "simd") continue;
        const std::string kernel = hetero::NodeRegistry::builtin().describe(name).tile_kernel;
        benchmark::RegisterBenchmark(fmt::format("{}/{}", family, kernel).c_str(),
                                     [name, spec](benchmark::State& state) {
                                       render(state, name, hetero::NodeOptions{}, spec);
                                     })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  for (const std::string& name : backends) {
    if (hetero::NodeRegistry::builtin().describe(name).kind != hetero::NodeKind::device) continue;
    for (const bool to_device : {true, false}) {
      benchmark::RegisterBenchmark(
          fmt::format("copy/{}/{}/pageable", name, to_device ? "to_device" : "to_host").c_str(),
          [name, to_device](benchmark::State& state) { copy_over_link(state, name, to_device); })
          ->RangeMultiplier(16)
          ->Range(4 << 10, 64 << 20)
          ->UseRealTime();
    }
  }
  for (const std::string& name : backends) {
    // The kernel has a host implementation only: host nodes run it.
    if (hetero::NodeRegistry::builtin().describe(name).kind != hetero::NodeKind::host) continue;
    benchmark::RegisterBenchmark(
        fmt::format("kernel/{}/tile_overhead", name).c_str(),
        [name](benchmark::State& state) { kernel_tile_overhead(state, name); })
        ->Arg(1)
        ->Arg(1000)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  for (const std::string& name : backends) {
    if (name == "mpi") continue;  // the workloads' kernels need ranks serving them
    const hetero::HeatSpec spec{.width = config.size, .height = config.size, .steps = 20};
    benchmark::RegisterBenchmark(fmt::format("heat/{}", name).c_str(),
                                 [name, spec](benchmark::State& state) { heat(state, name, spec); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    for (const bool resident : {true, false}) {
      benchmark::RegisterBenchmark(
          fmt::format("triad/{}/{}", name, resident ? "resident" : "staged").c_str(),
          [name, resident](benchmark::State& state) {
            triad(state, name, std::int64_t{1} << 22, resident);
          })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  std::vector<std::string> host;
  for (const std::string& name : backends) {
    if (hetero::NodeRegistry::builtin().describe(name).resource == "host-cpu") host.push_back(name);
  }
  for (std::size_t a = 0; a < host.size(); ++a) {
    for (std::size_t b = a + 1; b < host.size(); ++b) {
      hetero::JobRequest request;
      request.preset = "full";
      request.width = config.size;
      request.height = config.size;
      request.max_iter = config.max_iter;
      const hetero::JobSpec spec = hetero::resolve_job(request);
      benchmark::RegisterBenchmark(
          fmt::format("auto_pair/{}+{}", host[a], host[b]).c_str(),
          [first = host[a], second = host[b], spec](benchmark::State& state) {
            auto_pair(state, first, second, spec);
          })
          ->Unit(benchmark::kMillisecond)
          ->UseManualTime();
    }
  }
  if (const std::filesystem::path cli = hetero_cli(); !cli.empty()) {
    benchmark::AddCustomContext("hetero_cli", cli.string());
    std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
        {"version", {"--version"}},
        {"render_1x1", {"render", "--width", "1", "--height", "1", "--quiet"}}};
    if (hetero::NodeRegistry::builtin().describe("simd").available) {
      runs.push_back({"seed_simd", {"render", "--preset", "seed", "--backend", "simd", "--quiet"}});
    }
    for (const auto& [name, arguments] : runs) {
      benchmark::RegisterBenchmark(
          fmt::format("startup/{}", name).c_str(),
          [cli, arguments](benchmark::State& state) { start_up(state, cli, arguments); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  } else {
    benchmark::AddCustomContext("hetero_cli", "not found: the startup family is left out");
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

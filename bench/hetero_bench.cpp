// hetero-bench: one Google Benchmark family per backend and (precision, mode), on the full
// preset. Extra flags: --backend=NAME[,NAME...] (default: every available backend),
// --size=PIXELS (square image side, default 512), --max-iter=N (default 1000).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/host_info.hpp"
#include "hetero/hetero.hpp"

namespace {

constexpr int kSchemaVersion = 1;

struct BenchConfig {
  std::string backends = "all";
  std::int64_t size = 512;
  std::int64_t max_iter = 1000;
};

// Takes hetero's own flags out of argv, leaving Google Benchmark's.
BenchConfig take_own_flags(int& argc, char** argv) {
  BenchConfig config;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--backend=", 0) == 0) {
      config.backends = std::string(arg.substr(10));
    } else if (arg.rfind("--size=", 0) == 0) {
      config.size = hetero::parse_integer("--size", arg.substr(7), 1, 1 << 16);
    } else if (arg.rfind("--max-iter=", 0) == 0) {
      config.max_iter = hetero::parse_integer("--max-iter", arg.substr(11), 1, 1 << 30);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return config;
}

void render(benchmark::State& state, const std::string& backend, hetero::JobSpec spec) {
  std::vector<std::unique_ptr<hetero::Node>> nodes;
  nodes.push_back(hetero::NodeRegistry::builtin().create(backend));
  hetero::Dispatcher dispatcher(std::move(nodes));
  const hetero::Job job(spec);
  std::uint64_t iterations = 0, bytes = 0;
  std::int64_t pixels = 0;
  for (auto _ : state) {
    const hetero::RunResult result = dispatcher.run(job);
    benchmark::DoNotOptimize(result.counts.data());
    iterations += result.report.iterations;
    pixels += spec.pixels();
    for (const auto& node : result.report.nodes) bytes += node.bytes_to_device + node.bytes_to_host;
    state.counters["checksum"] = static_cast<double>(result.report.checksum.sum);
    state.counters["peak_host_MiB"] =
        static_cast<double>(result.report.peak_host_bytes) / (1024.0 * 1024.0);
  }
  using benchmark::Counter;
  state.counters["Giter/s"] = Counter(static_cast<double>(iterations) * 1e-9, Counter::kIsRate);
  state.counters["Mpixel/s"] = Counter(static_cast<double>(pixels) * 1e-6, Counter::kIsRate);
  state.counters["bytes_moved"] =
      Counter(static_cast<double>(bytes), Counter::kAvgIterations);
  state.counters["GB/s"] = Counter(static_cast<double>(bytes) * 1e-9, Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
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
  benchmark::AddCustomContext("job", fmt::format("full {}x{} max-iter {}", config.size,
                                                 config.size, config.max_iter));
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
        benchmark::RegisterBenchmark(
            fmt::format("render/{}/{}/{}", name, to_string(precision), to_string(mode)).c_str(),
            [name, spec](benchmark::State& state) { render(state, name, spec); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

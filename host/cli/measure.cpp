// Measurements' nodes as asked, and shared JSON blocks.
#include "cli/measure.hpp"

#include <tuple>

#include <fmt/format.h>

#include "core/parse.hpp"

namespace hetero::cli {

RuntimeOptions exactly(std::vector<NodeSpec> nodes) {
  RuntimeOptions options;
  options.exact_nodes = std::move(nodes);
  return options;
}

std::pair<std::int64_t, std::int64_t> parse_size(const std::string& text) {
  const auto x = text.find('x');
  if (x == std::string::npos) {
    throw UsageError(fmt::format("--size '{}': give WIDTHxHEIGHT, e.g. 1024x768", text));
  }
  return {parse_integer("--size", text.substr(0, x), 1, kInt64Max),
          parse_integer("--size", text.substr(x + 1), 1, kInt64Max)};
}

KernelWorkload KernelWorkload::parse(const std::string& workload,
                                     const std::optional<std::string>& size,
                                     const std::optional<std::string>& steps) {
  KernelWorkload parsed;
  parsed.heat = workload == "heat";
  if (parsed.heat) {
    if (size) std::tie(parsed.heat_spec.width, parsed.heat_spec.height) = parse_size(*size);
    if (steps) parsed.heat_spec.steps = parse_integer("--steps", *steps, kInt64Min, kInt64Max);
    validate(parsed.heat_spec);
  } else {
    if (size) parsed.triad_spec.elements = parse_integer("--size", *size, kInt64Min, kInt64Max);
    if (steps) parsed.triad_spec.runs = parse_integer("--steps", *steps, kInt64Min, kInt64Max);
    validate(parsed.triad_spec);
  }
  return parsed;
}

KernelWorkload KernelWorkload::grown(int factor) const {
  KernelWorkload larger = *this;
  if (heat) {
    larger.heat_spec.height *= factor;
    validate(larger.heat_spec);
  } else {
    larger.triad_spec.elements *= factor;
    validate(larger.triad_spec);
  }
  return larger;
}

std::string KernelWorkload::describe() const {
  if (heat) {
    return fmt::format("heat {}x{}, {} steps", heat_spec.width, heat_spec.height, heat_spec.steps);
  }
  return fmt::format("triad {} floats, {} runs", triad_spec.elements, triad_spec.runs);
}

Report KernelWorkload::run(Runtime& runtime, const LaunchOptions& options) const {
  if (heat) return run_heat(runtime, heat_spec, options).report;
  const TriadResult triad = run_triad(runtime, triad_spec, options);
  Report all = triad.runs.back();  // its nodes and checksum; the runs' time and work summed
  all.wall_s = 0;
  all.iterations = 0;
  for (const Report& run : triad.runs) {
    all.wall_s += run.wall_s;
    all.iterations += run.iterations;
  }
  return all;
}

nlohmann::json timing_json(const TimingSummary& timing) {
  return {{"min_s", timing.min_s},   {"median_s", timing.median_s}, {"max_s", timing.max_s},
          {"mean_s", timing.mean_s}, {"stddev_s", timing.stddev_s}, {"runs_s", timing.runs_s},
          {"noisy", timing.noisy}};
}

nlohmann::json job_json(const JobSpec& spec) {
  return {{"preset", spec.preset},
          {"width", spec.width},
          {"height", spec.height},
          {"max_iter", spec.max_iter},
          {"precision", to_string(spec.precision)},
          {"mode", to_string(spec.mode)}};
}

nlohmann::json host_json(Precision precision, Mode mode) {
  const MachineModel& machine = host_machine();
  return {{"cpu", machine.cpu},
          {"isa", machine.isa},
          {"fma_ports", machine.fma_ports},
          {"fma_ports_assumed", !machine.fma_ports_known},
          {"ghz", machine.ghz},
          {"clock_source", machine.clock_source},
          {"cores", machine.cores},
          {"hardware_threads", machine.hardware_threads},
          {"peak_giters_per_s", machine.peak_giters(precision, mode)},
          {"peak_giters_per_s_per_core", machine.peak_giters_per_core(precision, mode)}};
}

}  // namespace hetero::cli

// Measurements' nodes as asked, and shared JSON blocks.
#include "cli/measure.hpp"

namespace hetero::cli {

RuntimeOptions exactly(std::vector<NodeSpec> nodes) {
  RuntimeOptions options;
  options.exact_nodes = std::move(nodes);
  return options;
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

// Repeated timed runs and shared JSON blocks.
#include "cli/measure.hpp"
#include "hetero/backend/dispatcher.hpp"

namespace hetero::cli {

Measured measure_runs(std::vector<std::unique_ptr<Node>> nodes, const Job& job,
                      const RunOptions& options, int warmup, int repeat) {
  Measured measured;
  for (const auto& node : nodes) measured.lanes += node->lanes();
  Dispatcher dispatcher(std::move(nodes));
  std::vector<double> seconds;
  for (int i = 0; i < warmup + repeat; ++i) {
    measured.last = dispatcher.run(job, options);
    if (i >= warmup) seconds.push_back(measured.last.report.wall_s);
  }
  measured.timing = summarize(std::move(seconds));
  return measured;
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

// Detection of the host's instruction set and clock for the machine model.
#include <fstream>
#include <regex>
#include <string>

#include "hetero/machine.hpp"
#include "host_info.hpp"

namespace hetero {
namespace {

double nominal_ghz(const std::string& model_name) {
  // "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz": the nominal clock is in the name.
  std::smatch match;
  if (std::regex_search(model_name, match, std::regex(R"(([0-9]+(\.[0-9]+)?)\s*GHz)"))) {
    return std::stod(match[1].str());
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return std::stod(line.substr(colon + 1)) / 1000.0;
    }
  }
  return 2.0;
}

MachineModel detect() {
  MachineModel model;
  model.cpu = detail::host_cpu_name();
  model.cores = detail::host_hardware_threads();
  model.ghz = nominal_ghz(model.cpu);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    model.isa = "avx512";
    model.vector_bits = 512;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    model.isa = "avx2";
    model.vector_bits = 256;
  } else if (__builtin_cpu_supports("sse4.1")) {
    model.isa = "sse4";
    model.vector_bits = 128;
    model.fma_ports = 1;  // no FMA: separate multiply and add ports
  } else {
    model.isa = "sse2";
    model.vector_bits = 128;
    model.fma_ports = 1;
  }
#else
  model.isa = "scalar";
  model.vector_bits = 64;
  model.fma_ports = 1;
#endif
  return model;
}

}  // namespace

const MachineModel& host_machine() {
  static const MachineModel model = detect();
  return model;
}

}  // namespace hetero

// The host machine's physical limit for this workload, from its instruction set.
#pragma once

#include <string>

#include "hetero/workload.hpp"

namespace hetero {

/// A port-bound model: each core retires `fma_ports` vector operations per cycle, and one
/// iteration of the recurrence costs about kOpsPerIteration vector operations per lane
/// (multiplies, adds, the escape test and the loop's bookkeeping). On an AVX-512 core at
/// 3 GHz this gives about 5 Giter/s in fp64 and 10 in fp32; AVX2 about half that.
struct MachineModel {
  static constexpr double kOpsPerIteration = 9.6;

  std::string cpu;  ///< model name
  std::string isa;  ///< widest vector instruction set: avx512, avx2, sse4 or scalar
  int vector_bits = 128;
  int fma_ports = 2;
  double ghz = 0;  ///< nominal clock (the model name's, else /proc/cpuinfo's current MHz)
  int cores = 1;   ///< hardware threads this process may use

  /// Lanes of one vector in the given precision.
  int lanes(Precision precision) const {
    return vector_bits / (precision == Precision::fp64 ? 64 : 32);
  }
  /// Peak Giter/s of one core, and of the whole machine.
  double peak_giters_per_core(Precision precision) const {
    return lanes(precision) * fma_ports * ghz / kOpsPerIteration;
  }
  double peak_giters(Precision precision) const { return peak_giters_per_core(precision) * cores; }
};

/// The model of the machine this process runs on (detected once).
const MachineModel& host_machine();

}  // namespace hetero

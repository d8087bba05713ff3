// The host machine's physical limit for this workload, from its instruction set.
#pragma once

#include <string>

#include "hetero/workload.hpp"

namespace hetero {

/// A port-bound model: each core retires `fma_ports` vector operations per cycle, and one
/// iteration of the recurrence costs kExactOps vector operations per lane in exact mode
/// (x*x, y*y, their difference, + cx, x + x, * y, + cy; the squares are reused by the escape
/// test) and kFmaOps in fma mode (three fused operations and a square). On an AVX-512 core at
/// 2.6 GHz nominal this gives about 5.9 Giter/s in fp64 exact mode and 11.9 in fp32; turbo
/// clocks run above it. The simd node's kernel is built to this operation count.
struct MachineModel {
  static constexpr double kExactOps = 7;
  static constexpr double kFmaOps = 4;

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
  double peak_giters_per_core(Precision precision, Mode mode = Mode::exact) const {
    return lanes(precision) * fma_ports * ghz / (mode == Mode::exact ? kExactOps : kFmaOps);
  }
  double peak_giters(Precision precision, Mode mode = Mode::exact) const {
    return peak_giters_per_core(precision, mode) * cores;
  }
};

/// The model of the machine this process runs on (detected once).
const MachineModel& host_machine();

}  // namespace hetero

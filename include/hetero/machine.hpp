// The host machine's physical limit for this workload, from its instruction set, its cores and
// its clock, each with what it rests on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hetero/workload.hpp"

namespace hetero {

/// A port-bound model: each physical core retires `fma_ports` vector operations per cycle (two
/// hardware threads of one core share its ports), and one iteration of the recurrence costs
/// kExactOps vector operations per lane in exact mode (x*x, y*y, their difference, + cx, x + x,
/// * y, + cy; the squares are reused by the escape test) and kFmaOps in fma mode (three fused
/// operations and a square). On an AVX-512 core with two FMA ports at 2.6 GHz this gives about
/// 5.9 Giter/s in fp64 exact mode and 11.9 in fp32; turbo clocks run above it. The simd node's
/// kernel is built to this operation count.
struct MachineModel {
  static constexpr double kExactOps = 7;
  static constexpr double kFmaOps = 4;

  std::string cpu;  ///< model name
  std::string isa;  ///< widest vector instruction set: avx512, avx2, sse4, sse2 or scalar
  int vector_bits = 128;
  int fma_ports = 2;             ///< vector FMA (or multiply and add) pipes per core
  bool fma_ports_known = false;  ///< false: fma_ports is an assumption
  std::string fma_ports_basis;   ///< what fma_ports rests on, in words
  double ghz = 0;                ///< nominal clock
  std::string clock_source;      ///< where ghz comes from, in words
  int cores = 1;                 ///< physical cores this process may run on
  int hardware_threads = 1;      ///< hardware threads this process may run on
  std::string cores_basis;       ///< how cores were counted, in words

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

/// The model of a machine from its /proc/cpuinfo text, for the logical CPUs `allowed` (their
/// "processor" numbers; empty: every one listed). Physical cores are the distinct (physical id,
/// core id) pairs; FMA ports come from the vendor, family, model and features of known
/// microarchitectures, and are marked assumed otherwise; the clock is the model name's, else
/// the "cpu MHz" field, else an assumed 2.0 GHz.
MachineModel machine_from_cpuinfo(std::string_view cpuinfo, const std::vector<int>& allowed = {});

/// The model of the machine this process runs on (detected once).
const MachineModel& host_machine();

}  // namespace hetero

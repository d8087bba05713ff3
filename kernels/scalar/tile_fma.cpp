// The scalar tile kernel of fma mode for CPUs with FMA instructions: this file is compiled with
// -mfma (x86-64), its kernel code in a namespace of its own (HETERO_KERNELS_ISA), and used only
// where the CPU says it has FMA.
#define HETERO_KERNELS_ISA x86_fma
#include "scalar/tile_fma.hpp"

#include "scalar/tile.hpp"

#if defined(__x86_64__) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#define HETERO_GLIBC_CPU_FEATURES 1
#elif defined(__x86_64__)
#include <cpuid.h>
#endif

namespace hetero::kernels {
namespace {

// CPUID's FMA bit, and the OS saving the YMM registers (OSXSAVE, then XCR0's SSE and AVX
// state). glibc's loader has read them already at start (CPU_FEATURE_ACTIVE: usable, the OS
// included); elsewhere CPUID is asked here, not by __builtin_cpu_supports, whose libgcc
// initializer would run it at every load of the library. CPUID traps in a virtual machine: two
// calls took 14 us.
bool read_cpu_has_fma() {
#if defined(__x86_64__) && defined(__FMA__) && defined(HETERO_GLIBC_CPU_FEATURES)
  return CPU_FEATURE_ACTIVE(FMA) && CPU_FEATURE_ACTIVE(AVX);
#elif defined(__x86_64__) && defined(__FMA__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  constexpr unsigned kFma = 1U << 12, kOsxsave = 1U << 27, kAvx = 1U << 28;
  if ((ecx & (kFma | kOsxsave | kAvx)) != (kFma | kOsxsave | kAvx)) return false;
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  return (xcr0_low & 0x6U) == 0x6U;
#else
  return false;
#endif
}

bool cpu_has_fma() {
  static const bool has_fma = read_cpu_has_fma();
  return has_fma;
}

}  // namespace

FmaTile64 scalar_fma_tile_fp64() {
  return cpu_has_fma() ? &x86_fma::scalar::tile<double, Arith::fma> : nullptr;
}
FmaTile32 scalar_fma_tile_fp32() {
  return cpu_has_fma() ? &x86_fma::scalar::tile<float, Arith::fma> : nullptr;
}

}  // namespace hetero::kernels

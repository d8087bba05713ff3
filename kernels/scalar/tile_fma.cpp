// The scalar tile kernel of fma mode for CPUs with FMA instructions: this file is compiled with
// -mfma (x86-64), its kernel code in a namespace of its own (HETERO_KERNELS_ISA), and used only
// where the CPU says it has FMA.
#define HETERO_KERNELS_ISA x86_fma
#include "scalar/tile_fma.hpp"

#include "scalar/tile.hpp"

namespace hetero::kernels {
namespace {

bool cpu_has_fma() {
#if defined(__x86_64__) && defined(__FMA__)
  __builtin_cpu_init();  // this may run before the constructors that would have done it
  return __builtin_cpu_supports("fma") != 0;
#else
  return false;
#endif
}

}  // namespace

FmaTile64 scalar_fma_tile_fp64() {
  return cpu_has_fma() ? &x86_fma::scalar::tile<double, Arith::fma> : nullptr;
}
FmaTile32 scalar_fma_tile_fp32() {
  return cpu_has_fma() ? &x86_fma::scalar::tile<float, Arith::fma> : nullptr;
}

}  // namespace hetero::kernels

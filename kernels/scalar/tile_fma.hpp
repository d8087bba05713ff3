// The scalar tile kernel of fma mode compiled for x86-64 CPUs with FMA instructions.
#pragma once

#include <cstdint>

namespace hetero::kernels {

/// scalar::tile<Real, Arith::fma> with each fma() one instruction instead of a call into the
/// C library: the same bits (both round once), several times faster. nullptr where this build
/// or this CPU has no FMA instructions.
using FmaTile64 = std::uint64_t (*)(const double* xs, const double* ys, std::int64_t width,
                                    std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                                    std::uint32_t* out);
using FmaTile32 = std::uint64_t (*)(const float* xs, const float* ys, std::int64_t width,
                                    std::int64_t begin, std::int64_t end, std::uint32_t max_iter,
                                    std::uint32_t* out);
FmaTile64 scalar_fma_tile_fp64();
FmaTile32 scalar_fma_tile_fp32();

}  // namespace hetero::kernels

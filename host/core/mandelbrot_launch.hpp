// The Mandelbrot job as a launch of the public kernel (hetero::mandelbrot_kernel): how the
// dispatcher computes a job on every node.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "hetero/backend/launch.hpp"
#include "hetero/job.hpp"

namespace hetero::detail {

/// `job` as a launch of mandelbrot_kernel over its pixels with host tile kernel `tile_kernel`
/// (empty: scalar), writing one count per pixel to `counts`. Throws UsageError for a tile
/// kernel this build does not have.
backend::Launch mandelbrot_launch(const Job& job, std::string_view tile_kernel,
                                  std::span<std::uint32_t> counts);

/// The kernel mandelbrot_launch runs for a job of `precision` and `mode` with host tile kernel
/// `tile_kernel`.
std::shared_ptr<const backend::KernelDefinition> mandelbrot_definition(
    Precision precision, Mode mode, std::string_view tile_kernel);

/// Each tile's predicted work: the iterations of `samples` pixels spread over its range (exact
/// fp64 loop), scaled to its pixels; for a progress weighted by work, not by tiles.
std::vector<double> sampled_tile_work(const Job& job, const std::vector<Tile>& tiles,
                                      int samples = 8);

/// Registers every Mandelbrot kernel by name (each precision, mode and host tile kernel), for
/// MPI ranks to find.
void register_mandelbrot_kernels();

}  // namespace hetero::detail

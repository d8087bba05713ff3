// The triad workload through the public API.
#include "hetero/triad.hpp"

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/workload.hpp"

namespace hetero {

void validate(const TriadSpec& spec) {
  if (spec.elements < 1) {
    throw UsageError(fmt::format("--size {}: give 1 or more elements", spec.elements));
  }
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(spec.elements), 3 * sizeof(float),
                             &bytes) ||
      !fits_in_host_memory(bytes)) {
    throw UsageError(fmt::format(
        "--size {}: its arrays need {} MiB and the host has {} MiB available; use fewer elements",
        spec.elements, bytes >> 20, available_host_bytes() >> 20));
  }
  if (spec.runs < 1 || spec.runs > TriadSpec::kMaxRuns) {
    throw UsageError(fmt::format("--steps {}: give 1 to {} runs", spec.runs, TriadSpec::kMaxRuns));
  }
}

const Kernel<Tile1D, View<const float>, View<const float>, View<float>, float>& triad_kernel() {
  static const auto kernel =
      Kernel<Tile1D, View<const float>, View<const float>, View<float>, float>("triad")
          .host([](Tile1D tile, View<const float> b, View<const float> c, View<float> a, float s) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) a[i] = b[i] + s * c[i];
          })
          .opencl(R"(
__kernel void triad(__global const float* b, __global const float* c, __global float* a,
                    float s) {
  const size_t i = get_global_id(0);
  a[i] = b[i] + s * c[i];
})",
                  "triad")
          .exact();
  return kernel;
}

TriadResult run_triad(Runtime& runtime, const TriadSpec& spec, LaunchOptions options) {
  validate(spec);
  const std::int64_t n = spec.elements;
  Array<float> a(n, "triad a"), b(n, "triad b"), c(n, "triad c");
  {
    auto host_b = b.acquire_write();
    auto host_c = c.acquire_write();
    for (std::int64_t i = 0; i < n; ++i) {
      host_b[i] = static_cast<float>(i % 1000);
      host_c[i] = static_cast<float>(i % 7);
    }
  }
  TriadResult result;
  for (std::int64_t run = 0; run < spec.runs; ++run) {
    LaunchResult launched = runtime.run(triad_kernel(), Grid1D{n}, read_slice(b), read_slice(c),
                                        write(a), kTriadScalar, options);
    launched.report.kernel = "triad";
    result.runs.push_back(std::move(launched.report));
  }
  const auto host = a.acquire_read();
  result.checksum = field_checksum(host.view());
  result.runs.back().checksum = result.checksum;
  return result;
}

}  // namespace hetero

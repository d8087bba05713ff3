// SAXPY, z = a*x + y, with a host and an OpenCL implementation, on every node (under mpirun
// too: `mpirun -np 3 saxpy --nodes mpi`).
#include <vector>

#include "run_everywhere.hpp"

const char* const kSaxpyOpenCL = R"(
__kernel void saxpy(__global const float* x, __global const float* y, __global float* z,
                    float a) {
  const size_t i = get_global_id(0);
  z[i] = a * x[i] + y[i];
})";

int main(int argc, char** argv) {
  using namespace hetero;
  const auto saxpy =
      Kernel<Tile1D, View<const float>, View<const float>, View<float>, float>("saxpy")
          .host([](Tile1D tile, View<const float> x, View<const float> y, View<float> z, float a) {
            for (std::int64_t i = tile.begin; i < tile.end; ++i) z[i] = a * x[i] + y[i];
          })
          .opencl(kSaxpyOpenCL, "saxpy")
          .exact();
  if (auto status = Runtime::serve(argc, argv, saxpy)) return *status;  // MPI ranks above 0

  const std::int64_t n = 1 << 20;
  std::vector<float> x(n), y(n), expected(n);
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = 0.001f * static_cast<float>(i % 1000);
    y[i] = 1.0f / static_cast<float>(i + 1);
    expected[i] = 2.5f * x[i] + y[i];
  }
  return examples::run_everywhere(
      argc, argv, "saxpy", [](const std::string&) { return true; },
      [&](Runtime& runtime) {
        std::vector<float> z(n);
        runtime.run(saxpy, Grid1D{n}, read_slice(x), read_slice(y), write(z), 2.5f);
        return z == expected;
      });
}

// One element functor, single source: compiled by g++ it gives the host implementation; compiled
// by nvcc (element.cu) the CUDA implementation as well.
#include <cstdint>
#include <vector>

#include "run_everywhere.hpp"

// Trivially copyable, values and views only: it is passed by value to every node.
struct Blend {
  HETERO_HOST_DEVICE void operator()(std::int64_t i, hetero::View<const double> a,
                                     hetero::View<const double> b, hetero::View<double> out,
                                     double weight) const {
    out[i] = weight * a[i] + (1.0 - weight) * b[i];
  }
};

int main(int argc, char** argv) {
  using namespace hetero;
  const auto blend = for_each_element("blend", Blend{});
  if (auto status = Runtime::serve(argc, argv, blend)) return *status;  // MPI ranks above 0
  const std::int64_t n = 300001;
  std::vector<double> a(n), b(n), expected(n);
  for (std::int64_t i = 0; i < n; ++i) {
    a[i] = static_cast<double>(i) * 0.25;
    b[i] = 1.0 / static_cast<double>(i + 3);
    Blend{}(i, View<const double>(a.data(), n), View<const double>(b.data(), n),
            View<double>(expected.data(), n), 0.3);
  }
  const bool has_cuda = static_cast<bool>(blend.definition()->cuda);
  return examples::run_everywhere(
      argc, argv, has_cuda ? "blend (host and CUDA)" : "blend (host)",
      [&](const std::string& node) {
        // Host nodes run the host implementation; GPU nodes the CUDA one when nvcc built this.
        return node != "opencl" && ((node != "cuda" && node != "thrust") || has_cuda);
      },
      [&](Runtime& runtime) {
        std::vector<double> out(n);
        runtime.run(blend, Grid1D{n}, read_slice(a), read_slice(b), write(out), 0.3);
        return out == expected;
      });
}

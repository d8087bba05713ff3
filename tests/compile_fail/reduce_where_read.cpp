// Must not compile: an array passed where the kernel reduces.
#include <vector>

#include "hetero/kernel.hpp"

void read_passed_to_a_reducer() {
  std::vector<float> in(10);
  using Kernel = hetero::Kernel<hetero::Tile1D, hetero::Reducer<float>>;
  static_cast<void>(Kernel::bind(hetero::read(in)));
}

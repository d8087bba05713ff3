// Must not compile: fewer arguments than the kernel has parameters.
#include <vector>

#include "hetero/kernel.hpp"

void bind_too_few() {
  std::vector<float> in(10);
  using Kernel = hetero::Kernel<hetero::Tile1D, hetero::View<const float>, float>;
  static_cast<void>(Kernel::bind(hetero::read(in)));
}

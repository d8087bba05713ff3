// Must not compile: an array of another element type than the kernel's parameter.
#include <vector>

#include "hetero/kernel.hpp"

void bind_wrong_type() {
  std::vector<double> in(10);
  using Kernel = hetero::Kernel<hetero::Tile1D, hetero::View<const float>>;
  static_cast<void>(Kernel::bind(hetero::read(in)));
}

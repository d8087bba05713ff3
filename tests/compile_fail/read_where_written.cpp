// Must not compile: an array passed for reading to a parameter the kernel writes.
#include <vector>

#include "hetero/kernel.hpp"

void bind_read_to_written() {
  std::vector<float> out(10);
  using Kernel = hetero::Kernel<hetero::Tile1D, hetero::View<float>>;
  static_cast<void>(Kernel::bind(hetero::read(out)));
}

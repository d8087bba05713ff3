// Must not compile: a const array passed where the kernel writes.
#include <vector>

#include "hetero/kernel.hpp"

void bind_const_array() {
  const std::vector<float> out(10);
  static_cast<void>(hetero::write(out));
}

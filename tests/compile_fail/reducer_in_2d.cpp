// Must not compile: a reduction's partials follow chunks of a 1-D space.
#include "hetero/kernel.hpp"

void reducer_in_a_2d_kernel() {
  hetero::Kernel<hetero::Tile2D, hetero::Reducer<float>> kernel("sum2d");
  static_cast<void>(kernel);
}

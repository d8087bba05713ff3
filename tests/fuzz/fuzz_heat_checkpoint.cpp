// Fuzz target: hetero::detail::parse_heat_checkpoint, the reader of a heat run's checkpoint
// (render --workload heat --resume FILE).
//
// The input is a whole checkpoint file. The reader either refuses it (UsageError) or returns a
// grid of at least 3x3 whose field has one float per cell, at a step of 0 or more; encoding what
// it returned gives back the input byte for byte.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/heat_checkpoint.hpp"
#include "fuzz_support.hpp"
#include "hetero/error.hpp"

using hetero::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  hetero::HeatCheckpoint checkpoint;
  try {
    checkpoint = hetero::detail::parse_heat_checkpoint(bytes, "fuzz.ck");
  } catch (const hetero::UsageError&) {
    return 0;
  }
  check(checkpoint.width >= 3 && checkpoint.height >= 3, "a grid under 3x3 was accepted");
  check(checkpoint.step >= 0, "a negative step was accepted");
  check(checkpoint.field.size() == static_cast<std::size_t>(checkpoint.width) *
                                       static_cast<std::size_t>(checkpoint.height),
        "the field does not have one float per cell");
  const std::string again = hetero::detail::encode_heat_checkpoint(
      checkpoint.width, checkpoint.height, checkpoint.step, checkpoint.field);
  check(again == bytes, "encoding the accepted checkpoint does not give the input back");
  return 0;
}

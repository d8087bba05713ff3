// Modules that must not load, for the loader's tests: built as hetero-<name>.so into folders of
// their own, each broken in one way (HETERO_FAKE_MODULE picks which).
#include "core/modules.hpp"

#if HETERO_FAKE_MODULE == 1
// Built for another hetero: its version is refused before anything else is read.
namespace {
constexpr hetero::detail::ModuleEntry kEntry{"0.0.0-other", nullptr, nullptr, nullptr};
}  // namespace
extern "C" __attribute__((visibility("default"))) const hetero::detail::ModuleEntry*
hetero_module_entry() {
  return &kEntry;
}
#elif HETERO_FAKE_MODULE == 2
// Needs a library the loader cannot find (libhetero_absent.so is built elsewhere, with no
// runpath to it).
int hetero_absent_value();
extern "C" __attribute__((visibility("default"))) int hetero_fake_needs_absent() {
  return hetero_absent_value();
}
#else
// A shared library without hetero's entry point.
extern "C" __attribute__((visibility("default"))) int hetero_fake_not_a_module() {
  return 0;
}
#endif

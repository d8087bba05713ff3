// The entry point of a backend module (hetero-<name>.so): the hetero version it was built for
// and the backends it registers (module_backends.inc, generated per module by CMake).
#include <string>

#include "core/modules.hpp"
#include "hetero/registry.hpp"
#include "hetero/version.hpp"
#if HETERO_MODULE_MPI
#include "nodes/mpi/launch.hpp"
#endif

namespace hetero::nodes {
#define HETERO_BACKEND(name) void register_##name(NodeRegistry& registry);
#include "module_backends.inc"
#undef HETERO_BACKEND
}  // namespace hetero::nodes

namespace {

void register_backends(hetero::NodeRegistry& registry) {
#define HETERO_BACKEND(name) hetero::nodes::register_##name(registry);
#include "module_backends.inc"
#undef HETERO_BACKEND
}

#if HETERO_MODULE_MPI
constexpr hetero::detail::ModuleEntry kEntry{HETERO_VERSION_STRING, &register_backends,
                                             &hetero::nodes::mpi::join_mpi_job,
                                             &hetero::nodes::mpi::set_remote_rank_backend};
#else
constexpr hetero::detail::ModuleEntry kEntry{HETERO_VERSION_STRING, &register_backends, nullptr,
                                             nullptr};
#endif

}  // namespace

extern "C" __attribute__((visibility("default"))) const hetero::detail::ModuleEntry*
hetero_module_entry() {
  return &kEntry;
}

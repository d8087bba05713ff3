// The built-in registry: every backend CMake enabled registers itself here, through the
// generated list (no hand-written switch over backends). A backend in a module is registered
// as a stand-in that loads its module when the backend is first described, created, listed or
// probed, and then passes each call on to the backend the module registered.
#include <fmt/format.h>

#include "core/modules.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"

namespace hetero::nodes {
#define HETERO_BACKEND(name) void register_##name(NodeRegistry& registry);
#define HETERO_DISABLED_BACKEND(name, kind, reason)
#define HETERO_MODULE_BACKEND(name, kind, module)
#define HETERO_MODULE_KERNEL(name, module)
#include "hetero_backends.inc"
#undef HETERO_BACKEND
#undef HETERO_DISABLED_BACKEND
#undef HETERO_MODULE_BACKEND
#undef HETERO_MODULE_KERNEL
}  // namespace hetero::nodes

namespace hetero {
namespace {

// The backend `name` of module `module` as the module registered it; null, and `why`, when the
// module cannot load.
const Backend* module_backend(std::string_view module, std::string_view name, std::string& why) {
  const detail::LoadedModule& loaded = detail::load_module(module);
  if (loaded.backends == nullptr) {
    why = fmt::format("its module cannot load: {}", loaded.error);
    return nullptr;
  }
  const Backend* backend = loaded.backends->find(name);
  if (backend == nullptr) why = fmt::format("module hetero-{}.so has no backend {}", module, name);
  return backend;
}

// (Unused in a build without modules: every backend is then built in.)
[[maybe_unused]] Backend module_stand_in(std::string name, NodeKind kind, std::string module) {
  Backend stand_in{name, kind, true, {}, {}, {}};
  auto unavailable = [name, kind](std::string why) {
    NodeInfo info;
    info.name = name;
    info.kind = kind;
    info.available = false;
    info.reason = std::move(why);
    return info;
  };
  stand_in.describe = [=](const NodeOptions& options) {
    std::string why;
    const Backend* backend = module_backend(module, name, why);
    return backend != nullptr ? backend->describe(options) : unavailable(why);
  };
  stand_in.create = [=](const NodeOptions& options) {
    std::string why;
    const Backend* backend = module_backend(module, name, why);
    if (backend == nullptr) throw cannot_run_here(name, why);
    return backend->create(options);
  };
  stand_in.enumerate = [=]() -> std::vector<NodeInfo> {
    std::string why;
    const Backend* backend = module_backend(module, name, why);
    // Nothing to list without the module, or when its backend lists no devices.
    if (backend == nullptr || !backend->enumerate) return {};
    return backend->enumerate();
  };
  stand_in.probe = [=](const NodeOptions& options) {
    std::string why;
    const Backend* backend = module_backend(module, name, why);
    if (backend == nullptr) throw cannot_run_here(name, why);
    if (!backend->probe) {
      throw UsageError(fmt::format("backend '{}' has no link to probe", name));
    }
    return backend->probe(options);
  };
  return stand_in;
}

NodeRegistry make_builtin() {
  NodeRegistry registry;
#define HETERO_BACKEND(name) nodes::register_##name(registry);
#define HETERO_DISABLED_BACKEND(name, kind, reason) \
  registry.add(Backend{#name, NodeKind::kind, false, reason, {}, {}});
#define HETERO_MODULE_BACKEND(name, kind, module) \
  registry.add(module_stand_in(#name, NodeKind::kind, module));
#define HETERO_MODULE_KERNEL(name, module)
#include "hetero_backends.inc"
#undef HETERO_BACKEND
#undef HETERO_DISABLED_BACKEND
#undef HETERO_MODULE_BACKEND
#undef HETERO_MODULE_KERNEL
  return registry;
}

}  // namespace

const NodeRegistry& NodeRegistry::builtin() {
  static const NodeRegistry registry = make_builtin();
  return registry;
}

}  // namespace hetero

// The built-in registry: every backend CMake enabled registers itself here, through the
// generated list (no hand-written switch over backends).
#include "hetero/registry.hpp"

namespace hetero::nodes {
#define HETERO_BACKEND(name) void register_##name(NodeRegistry& registry);
#define HETERO_DISABLED_BACKEND(name, kind, reason)
#include "hetero_backends.inc"
#undef HETERO_BACKEND
#undef HETERO_DISABLED_BACKEND
}  // namespace hetero::nodes

namespace hetero {
namespace {

NodeRegistry make_builtin() {
  NodeRegistry registry;
#define HETERO_BACKEND(name) nodes::register_##name(registry);
#define HETERO_DISABLED_BACKEND(name, kind, reason) \
  registry.add(Backend{#name, NodeKind::kind, false, reason, {}, {}});
#include "hetero_backends.inc"
#undef HETERO_BACKEND
#undef HETERO_DISABLED_BACKEND
  return registry;
}

}  // namespace

const NodeRegistry& NodeRegistry::builtin() {
  static const NodeRegistry registry = make_builtin();
  return registry;
}

}  // namespace hetero

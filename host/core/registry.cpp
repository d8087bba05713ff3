// The node registry and backend-list parsing.
#include <algorithm>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/registry.hpp"

namespace hetero {

std::string_view to_string(NodeKind kind) {
  switch (kind) {
    case NodeKind::host:
      return "host";
    case NodeKind::device:
      return "device";
    case NodeKind::remote:
      return "remote";
  }
  return "unknown";
}

void NodeRegistry::add(Backend backend) {
  auto same = [&](const Backend& b) { return b.name == backend.name; };
  auto it = std::find_if(backends_.begin(), backends_.end(), same);
  if (it != backends_.end()) {
    *it = std::move(backend);
  } else {
    backends_.push_back(std::move(backend));
  }
}

const Backend* NodeRegistry::find(std::string_view name) const {
  for (const Backend& backend : backends_) {
    if (backend.name == name) return &backend;
  }
  return nullptr;
}

std::vector<std::string> NodeRegistry::names() const {
  std::vector<std::string> names;
  for (const Backend& backend : backends_) names.push_back(backend.name);
  return names;
}

NodeInfo NodeRegistry::describe(std::string_view name, const NodeOptions& options) const {
  const Backend* backend = find(name);
  if (backend == nullptr) {
    throw UsageError(fmt::format("unknown backend '{}': known backends are {}", name,
                                 fmt::join(names(), ", ")));
  }
  if (!backend->built) {
    NodeInfo info;
    info.name = backend->name;
    info.kind = backend->kind;
    info.available = false;
    info.reason = "not built: " + backend->not_built_reason;
    return info;
  }
  return backend->describe(options);
}

std::unique_ptr<Node> NodeRegistry::create(std::string_view name,
                                           const NodeOptions& options) const {
  const NodeInfo info = describe(name, options);
  if (!info.available) {
    throw UsageError(fmt::format("backend '{}' is unavailable: {}", name, info.reason));
  }
  return find(name)->create(options);
}

std::vector<std::string> parse_backend_list(std::string_view text, const NodeRegistry& registry,
                                            const NodeOptions& options) {
  std::vector<std::string> names;
  if (text == "all") {
    for (const Backend& backend : registry.backends()) {
      if (registry.describe(backend.name, options).available) names.push_back(backend.name);
    }
    return names;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string name(text.substr(start, comma - start));
    if (name.empty()) {
      throw UsageError(fmt::format("--backend '{}': empty name; use NAME[,NAME...] or all", text));
    }
    if (registry.find(name) == nullptr) {
      throw UsageError(fmt::format("unknown backend '{}': known backends are {}", name,
                                   fmt::join(registry.names(), ", ")));
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw UsageError(fmt::format("--backend '{}': '{}' is named twice", text, name));
    }
    names.push_back(name);
    start = comma + 1;
  }
  return names;
}

}  // namespace hetero

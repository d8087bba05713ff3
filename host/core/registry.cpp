// The node registry and backend-list parsing.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/host_info.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"

namespace hetero {
namespace {

// A node as created, saying it has the link NodeOptions::link gives instead of its own.
class LinkOverride final : public Node {
 public:
  LinkOverride(std::unique_ptr<Node> node, const Link& link)
      : node_(std::move(node)), info_(node_->info()) {
    info_.link = link;
  }
  const NodeInfo& info() const override { return info_; }
  int lanes() const override { return node_->lanes(); }
  MemorySpace* memory_space() override { return node_->memory_space(); }
  bool can_run(const backend::KernelDefinition& kernel, std::string& why) const override {
    return node_->can_run(kernel, why);
  }
  void launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) override {
    node_->launch(launch, work, trace);
  }

 private:
  std::unique_ptr<Node> node_;
  NodeInfo info_;
};

}  // namespace

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

NodeEntry split_node_entry(std::string_view entry) {
  const std::size_t colon = entry.find(':');
  if (colon == std::string_view::npos) return {entry, std::nullopt};
  return {entry.substr(0, colon), entry.substr(colon + 1)};
}

const Backend* NodeRegistry::find(std::string_view name) const {
  name = split_node_entry(name).name;
  for (const Backend& backend : backends_) {
    if (backend.name == name) return &backend;
  }
  return nullptr;
}

namespace {

// The options of the node `entry` names: its device, when it names one, in place of `options`'.
NodeOptions options_of(const Backend& backend, std::string_view entry, NodeOptions options) {
  const NodeEntry parts = split_node_entry(entry);
  if (!parts.device) return options;
  if (parts.device->empty()) {
    throw UsageError(
        fmt::format("'{}': name a device after ':' (see hetero devices), or drop ':'", entry));
  }
  if (backend.kind == NodeKind::host) {
    throw UsageError(fmt::format("'{}': {} runs on the host CPU and has no device; drop ':{}'",
                                 entry, backend.name, *parts.device));
  }
  options.device = std::string(*parts.device);
  return options;
}

}  // namespace

std::vector<std::string> NodeRegistry::names() const {
  std::vector<std::string> names;
  for (const Backend& backend : backends_) names.push_back(backend.name);
  return names;
}

NodeInfo NodeRegistry::describe(std::string_view name, const NodeOptions& options) const {
  const Backend* backend = find(name);
  if (backend == nullptr) {
    throw UsageError(
        fmt::format("unknown backend '{}': known backends are {}", name, fmt::join(names(), ", ")));
  }
  const NodeOptions own = options_of(*backend, name, options);
  if (!backend->built) {
    NodeInfo info;
    info.name = backend->name;
    info.kind = backend->kind;
    info.available = false;
    info.reason = "not built: " + backend->not_built_reason;
    return info;
  }
  NodeInfo info = backend->describe(own);
  if (options.link && info.available) info.link = *options.link;
  return info;
}

std::unique_ptr<Node> NodeRegistry::create(std::string_view name,
                                           const NodeOptions& options) const {
  const NodeInfo info = describe(name, options);
  if (!info.available) throw cannot_run_here(name, info.reason);
  const Backend& backend = *find(name);
  std::unique_ptr<Node> node = backend.create(options_of(backend, name, options));
  if (options.link) return std::make_unique<LinkOverride>(std::move(node), *options.link);
  return node;
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
  // One set of nodes: ',' and '+' both separate its members.
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find_first_of(",+", start), text.size());
    const std::string name(text.substr(start, comma - start));
    if (name.empty()) {
      throw UsageError(fmt::format("--backend '{}': empty name; use NAME[,NAME...] or all", text));
    }
    const Backend* backend = registry.find(name);
    if (backend == nullptr) {
      throw UsageError(fmt::format("unknown backend '{}': known backends are {}",
                                   split_node_entry(name).name, fmt::join(registry.names(), ", ")));
    }
    options_of(*backend, name, options);  // a device it cannot have is refused now
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw UsageError(fmt::format("--backend '{}': '{}' is named twice", text, name));
    }
    names.push_back(name);
    start = comma + 1;
  }
  return names;
}

UsageError cannot_run_here(std::string_view name, std::string_view reason) {
  return UsageError(
      fmt::format("backend '{}' cannot run here: {}; leave it out, or pass --fallback "
                  "(RuntimeOptions::fallback) to go on without it",
                  name, reason));
}

BackendChoice choose_backends(std::string_view list, const NodeRegistry& registry,
                              const NodeOptions& options, bool fallback,
                              std::string_view fallback_node) {
  BackendChoice choice;
  if (list == "all") {
    std::vector<std::string> absent;
    for (const Backend& backend : registry.backends()) {
      (registry.describe(backend.name, options).available ? choice.names : absent)
          .push_back(backend.name);
    }
    if (choice.names.empty()) {
      throw UsageError("no backend can run here (`hetero devices` says why for each)");
    }
    if (!absent.empty()) {
      choice.notes.push_back(
          fmt::format("all: {} cannot run here and {} left out (`hetero "
                      "devices` says why)",
                      fmt::join(absent, ", "), absent.size() == 1 ? "is" : "are"));
    }
    return choice;
  }
  const std::vector<std::string> named = parse_backend_list(list, registry, options);
  if (!fallback) {
    for (const std::string& name : named) {
      const NodeInfo info = registry.describe(name, options);
      if (!info.available) throw cannot_run_here(name, info.reason);
    }
    choice.names = named;
    return choice;
  }
  FallbackChoice fallen = fall_back_to_available(named, registry, options, fallback_node);
  choice.names = std::move(fallen.names);
  choice.unavailable = std::move(fallen.unavailable);
  return choice;
}

std::vector<std::string> FallbackChoice::notes() const {
  std::vector<std::string> notes;
  for (const UnavailableNode& node : unavailable) {
    notes.push_back(fmt::format("{} is unavailable ({}); its tiles run on {} instead (--fallback)",
                                node.name, node.reason, fmt::join(names, ", ")));
  }
  return notes;
}

FallbackChoice fall_back_to_available(const std::vector<std::string>& names,
                                      const NodeRegistry& registry, const NodeOptions& options,
                                      std::string_view fallback) {
  FallbackChoice choice;
  for (const std::string& name : names) {
    const NodeInfo info = registry.describe(name, options);
    if (info.available) {
      choice.names.push_back(name);
    } else {
      choice.unavailable.push_back({name, info.reason});
    }
  }
  if (choice.names.empty() && !names.empty() && !fallback.empty()) {
    const NodeInfo info = registry.describe(fallback, options);
    if (!info.available) {
      throw UsageError(fmt::format("none of {} can run here, nor the fallback '{}': {}",
                                   fmt::join(names, ", "), fallback, info.reason));
    }
    choice.names.emplace_back(fallback);
  }
  return choice;
}

NodePlan plan_nodes(const std::vector<std::string>& names, const NodeOptions& base, Sharing sharing,
                    const NodeRegistry& registry) {
  const bool share = sharing == Sharing::all;
  NodePlan plan;
  std::vector<NodeInfo> infos;
  for (const std::string& name : names) infos.push_back(registry.describe(name, base));
  std::vector<bool> keep(names.size(), true);
  std::vector<NodeOptions> options(names.size(), base);

  std::vector<std::string> resources;
  for (const NodeInfo& info : infos) {
    if (!info.resource.empty() &&
        std::find(resources.begin(), resources.end(), info.resource) == resources.end()) {
      resources.push_back(info.resource);
    }
  }
  for (const std::string& resource : resources) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < infos.size(); ++i) {
      if (infos[i].resource == resource) members.push_back(i);
    }
    if (members.size() < 2) continue;
    std::vector<std::string> member_names;
    for (const std::size_t i : members) member_names.push_back(names[i]);
    const std::string group = fmt::format("{}", fmt::join(member_names, ", "));
    if (sharing == Sharing::fastest) {
      plan.notes.push_back(fmt::format(
          "{} share {}: each gets all of it, and a run under auto keeps the one predicted "
          "fastest on it (--share runs them all at once)",
          group, resource == "host-cpu" ? "the host CPU" : resource));
      continue;
    }
    if (resource != "host-cpu") {
      if (share) {
        plan.notes.push_back(fmt::format("{} share {} (--share: all kept)", group, resource));
        continue;
      }
      for (std::size_t k = 1; k < members.size(); ++k) keep[members[k]] = false;
      plan.notes.push_back(fmt::format("{} share {}: only {} is used (--share keeps all)", group,
                                       resource, names[members.front()]));
      continue;
    }
    const int cores = detail::host_hardware_threads();
    int wanted = 0;
    for (const std::size_t i : members) wanted += infos[i].concurrency;
    if (share || base.workers > 0) {
      if (wanted > cores) {
        plan.notes.push_back(
            fmt::format("{} share the host CPU: {} workers on {} hardware threads "
                        "(oversubscribed)",
                        group, wanted, cores));
      }
      continue;
    }
    int left = cores;
    std::vector<std::size_t> adjustable;
    for (const std::size_t i : members) {
      if (infos[i].adjustable_workers) {
        adjustable.push_back(i);
      } else if (infos[i].concurrency <= left) {
        left -= infos[i].concurrency;
      } else {
        keep[i] = false;
        plan.notes.push_back(
            fmt::format("{} dropped: the host CPU's {} hardware threads are taken "
                        "by the other nodes (--share keeps it)",
                        names[i], cores));
      }
    }
    for (std::size_t k = 0; k < adjustable.size(); ++k) {
      const std::size_t i = adjustable[k];
      const auto remaining = static_cast<int>(adjustable.size() - k);
      const int workers = left > 0 ? std::max(1, left / remaining) : 0;
      if (workers < 1) {
        keep[i] = false;
        plan.notes.push_back(fmt::format(
            "{} dropped: no hardware thread of the host CPU is left for it (--share keeps it)",
            names[i]));
        continue;
      }
      options[i].workers = workers;
      left -= workers;
    }
    std::vector<std::string> split;
    for (const std::size_t i : members) {
      if (!keep[i]) continue;
      split.push_back(
          fmt::format("{} {}", names[i],
                      infos[i].adjustable_workers ? options[i].workers : infos[i].concurrency));
    }
    plan.notes.push_back(fmt::format("{} share the host CPU: its {} hardware threads are split {}",
                                     group, cores, fmt::join(split, ", ")));
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!keep[i]) continue;
    plan.names.push_back(names[i]);
    plan.options.push_back(options[i]);
  }
  return plan;
}

}  // namespace hetero

// Fuzz target: hetero::parse_backend_list (the --backend value) against a registry filled by
// hand, and hetero::plan_nodes on every list it accepts.
//
// The whole input is the --backend value. The registry holds host nodes on the host CPU (one with
// a fixed worker count, two adjustable), a backend that is not built, one that is built but has
// no device, and two device nodes on the same GPU. Contracts:
//   - parse_backend_list returns or throws hetero::UsageError;
//   - "all" gives every available backend in registry order;
//   - otherwise the result is the entries separated by ',' or '+' exactly, each NAME or NAME:DEVICE
//   with
//     a known NAME (a device only after a device backend's name, and not empty), each entry
//     named once, and such a list is always accepted;
//   - plan_nodes (split, --share and auto's fastest, with and without --threads) keeps a
//     subsequence of the names with one option set each; --share and auto's fastest keep them
//     all (the latter splitting no node's CPU); otherwise no two kept nodes
//     share a device, the first named of a device is the one kept, every dropped node is named
//     in a note, and nodes splitting the host CPU get at least one of its hardware threads and
//     no more than it has in all.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/host_info.hpp"
#include "fuzz_support.hpp"
#include "hetero/backend/node.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"

namespace {

using hetero::fuzz::check;

constexpr std::string_view kHostCpu = "host-cpu";
constexpr std::string_view kSharedGpu = "pci:0000:01:00.0";

hetero::Backend host_backend(std::string name, bool adjustable) {
  hetero::Backend backend;
  backend.name = name;
  backend.kind = hetero::NodeKind::host;
  backend.built = true;
  backend.describe = [name, adjustable](const hetero::NodeOptions& options) {
    hetero::NodeInfo info;
    info.name = name;
    info.kind = hetero::NodeKind::host;
    info.resource = std::string(kHostCpu);
    info.adjustable_workers = adjustable;
    info.concurrency = !adjustable           ? 1
                       : options.workers > 0 ? options.workers
                                             : hetero::detail::host_hardware_threads();
    info.available = true;
    return info;
  };
  backend.create = [](const hetero::NodeOptions&) -> std::unique_ptr<hetero::Node> {
    throw hetero::Error("fuzz registry: nodes are not created");
  };
  return backend;
}

hetero::Backend device_backend(std::string name, bool present) {
  hetero::Backend backend;
  backend.name = name;
  backend.kind = hetero::NodeKind::device;
  backend.built = true;
  backend.describe = [name, present](const hetero::NodeOptions&) {
    hetero::NodeInfo info;
    info.name = name;
    info.kind = hetero::NodeKind::device;
    info.resource = std::string(kSharedGpu);
    info.available = present;
    info.reason = present ? "" : "no device found";
    return info;
  };
  backend.create = [](const hetero::NodeOptions&) -> std::unique_ptr<hetero::Node> {
    throw hetero::Error("fuzz registry: nodes are not created");
  };
  return backend;
}

hetero::NodeRegistry make_registry() {
  hetero::NodeRegistry registry;
  registry.add(host_backend("serial", /*adjustable=*/false));
  registry.add(host_backend("threads", /*adjustable=*/true));
  registry.add(host_backend("openmp", /*adjustable=*/true));
  hetero::Backend missing;
  missing.name = "opencl";
  missing.kind = hetero::NodeKind::device;
  missing.not_built_reason = "HETERO_OPENCL is OFF";
  registry.add(missing);
  registry.add(device_backend("cuda", /*present=*/false));
  registry.add(device_backend("gpu-a", /*present=*/true));
  registry.add(device_backend("gpu-b", /*present=*/true));
  return registry;
}

// The entries of one set: ',' and '+' both separate them.
std::vector<std::string> split_members(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find_first_of(",+", start);
    parts.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) return parts;
    start = comma + 1;
  }
}

bool mentioned(const std::vector<std::string>& notes, const std::string& name) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const std::string& note) { return note.find(name) != std::string::npos; });
}

void check_plan(const hetero::NodeRegistry& registry, const std::vector<std::string>& names,
                int workers, hetero::Sharing sharing) {
  hetero::NodeOptions base;
  base.workers = workers;
  const hetero::NodePlan plan = hetero::plan_nodes(names, base, sharing, registry);
  check(plan.options.size() == plan.names.size(), "plan_nodes: one option set per kept node");
  std::size_t next = 0;
  std::vector<std::string> dropped;
  for (const std::string& name : names) {
    if (next < plan.names.size() && plan.names[next] == name) {
      ++next;
    } else {
      dropped.push_back(name);
    }
  }
  check(next == plan.names.size(), "plan_nodes: the kept nodes are the named ones, in order");
  if (sharing != hetero::Sharing::split) {
    check(dropped.empty(), "plan_nodes: --share, and planning under auto, keep every node");
    if (sharing == hetero::Sharing::fastest) {
      for (const hetero::NodeOptions& options : plan.options) {
        check(options.workers == base.workers, "plan_nodes: under auto no node's CPU is split");
      }
    }
    return;
  }
  for (const std::string& name : dropped) {
    check(mentioned(plan.notes, name), "plan_nodes: a dropped node is named in a note");
  }

  bool gpu_kept = false;
  int cpu_members = 0, cpu_workers = 0;
  for (std::size_t i = 0; i < plan.names.size(); ++i) {
    const hetero::NodeInfo info = registry.describe(plan.names[i], plan.options[i]);
    if (info.resource == kSharedGpu) {
      check(!gpu_kept, "plan_nodes: only one node per device without --share");
      gpu_kept = true;
    }
    if (info.resource == kHostCpu) {
      ++cpu_members;
      cpu_workers += info.concurrency;
      check(info.concurrency >= 1, "plan_nodes: a kept host node has a worker");
    }
  }
  const auto first_gpu = std::find_if(names.begin(), names.end(), [&](const std::string& name) {
    return registry.describe(name, base).resource == kSharedGpu;
  });
  if (first_gpu != names.end()) {
    check(std::find(plan.names.begin(), plan.names.end(), *first_gpu) != plan.names.end(),
          "plan_nodes: the first node named on a device is kept");
  }
  if (workers == 0 && cpu_members >= 2) {
    check(cpu_workers <= hetero::detail::host_hardware_threads(),
          "plan_nodes: nodes splitting the host CPU use no more than its hardware threads");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hetero::NodeRegistry registry = make_registry();
  const std::string_view text = hetero::fuzz::as_text(data, size);

  std::vector<std::string> expected;
  bool valid = true;
  if (text == "all") {
    for (const hetero::Backend& backend : registry.backends()) {
      if (registry.describe(backend.name).available) expected.push_back(backend.name);
    }
  } else {
    expected = split_members(text);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const std::string& entry = expected[i];
      const std::size_t colon = entry.find(':');
      const hetero::Backend* backend = registry.find(entry.substr(0, colon));
      const bool known = backend != nullptr &&
                         (colon == std::string::npos ||
                          (colon + 1 < entry.size() && backend->kind != hetero::NodeKind::host));
      const bool repeated =
          std::find(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(i),
                    expected[i]) != expected.begin() + static_cast<std::ptrdiff_t>(i);
      if (!known || repeated) valid = false;
    }
  }

  std::vector<std::string> names;
  try {
    names = hetero::parse_backend_list(text, registry);
  } catch (const hetero::UsageError&) {
    check(!valid, "parse_backend_list rejected a list of known names, each named once");
    return 0;
  }
  check(valid, "parse_backend_list accepted an unknown, empty or repeated name");
  check(names == expected, "parse_backend_list returned other names than the list's");

  for (const int workers : {0, 3}) {
    for (const hetero::Sharing sharing :
         {hetero::Sharing::split, hetero::Sharing::all, hetero::Sharing::fastest}) {
      check_plan(registry, names, workers, sharing);
    }
  }
  return 0;
}

// The backend module loader.
#include "core/modules.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "hetero/version.hpp"

namespace hetero::detail {
namespace {

std::string module_file(std::string_view name) {
  return fmt::format("hetero-{}.so", name);
}

// The folder of the object that holds this function: libhetero.so, or the program that links
// the static library.
std::filesystem::path library_folder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&library_folder), &info) == 0 ||
      info.dli_fname == nullptr) {
    return {};
  }
  std::error_code error;
  const std::filesystem::path path = std::filesystem::canonical(info.dli_fname, error);
  return error ? std::filesystem::path(info.dli_fname).parent_path() : path.parent_path();
}

// dlopen's last error as one line.
std::string loader_error() {
  const char* text = dlerror();
  return text != nullptr ? std::string(text) : std::string("unknown loader error");
}

// Opens `path` and checks its entry and version; on success fills `module`'s entry and
// registers its backends.
void open_module(const std::filesystem::path& path, LoadedModule& module,
                 std::unique_ptr<NodeRegistry>& registry) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    module.error = loader_error();
    return;
  }
  using EntryPoint = const ModuleEntry* (*)();
  const auto entry_point = reinterpret_cast<EntryPoint>(dlsym(handle, kModuleEntrySymbol));
  if (entry_point == nullptr) {
    module.error =
        fmt::format("{} is not a hetero module (it has no {})", path.string(), kModuleEntrySymbol);
    return;
  }
  const ModuleEntry* entry = entry_point();
  if (entry == nullptr || entry->version == nullptr ||
      std::strcmp(entry->version, HETERO_VERSION_STRING) != 0) {
    module.error = fmt::format(
        "{} was built for hetero {} and this library is hetero {}: install the module of this "
        "version",
        path.string(), entry != nullptr && entry->version != nullptr ? entry->version : "?",
        HETERO_VERSION_STRING);
    return;
  }
  auto backends = std::make_unique<NodeRegistry>();
  try {
    entry->register_backends(*backends);
  } catch (const std::exception& e) {
    module.error = fmt::format("{} failed to register its backends: {}", path.string(), e.what());
    return;
  }
  registry = std::move(backends);
  module.entry = entry;
  module.backends = registry.get();
}

struct ModuleTable {
  std::recursive_mutex mutex;  // a module's registration may ask for another module
  std::map<std::string, LoadedModule, std::less<>> modules;
  std::vector<std::unique_ptr<NodeRegistry>> registries;
};

ModuleTable& table() {
  static ModuleTable modules;
  return modules;
}

}  // namespace

bool modules_enabled() {
#if HETERO_MODULES
  return true;
#else
  return false;
#endif
}

std::vector<std::filesystem::path> module_search_path() {
  std::vector<std::filesystem::path> folders;
  if (const char* path = std::getenv("HETERO_MODULE_PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const std::size_t colon = std::min(rest.find(':'), rest.size());
      if (colon > 0) folders.emplace_back(rest.substr(0, colon));
      rest.remove_prefix(std::min(colon + 1, rest.size()));
    }
  }
  folders.push_back(library_folder() / "hetero");
  return folders;
}

const LoadedModule& load_module(std::string_view name) {
  ModuleTable& modules = table();
  std::lock_guard lock(modules.mutex);
  if (const auto it = modules.modules.find(name); it != modules.modules.end()) return it->second;
  LoadedModule module;
  if (!modules_enabled()) {
    module.error = fmt::format("this hetero was built with HETERO_MODULES=OFF and has no module {}",
                               module_file(name));
    return modules.modules.emplace(std::string(name), std::move(module)).first->second;
  }
  const std::vector<std::filesystem::path> folders = module_search_path();
  const std::string file = module_file(name);
  std::unique_ptr<NodeRegistry> registry;
  bool found = false;
  for (const std::filesystem::path& folder : folders) {
    std::error_code error;
    if (!std::filesystem::exists(folder / file, error)) continue;
    found = true;
    open_module(folder / file, module, registry);
    break;  // the first one found is the one: a broken module is not passed over
  }
  if (!found) {
    std::vector<std::string> searched;
    for (const std::filesystem::path& folder : folders) searched.push_back(folder.string());
    module.error = fmt::format("{} not found in {} (set HETERO_MODULE_PATH to its folder)", file,
                               fmt::join(searched, ", "));
  }
  if (registry) modules.registries.push_back(std::move(registry));
  return modules.modules.emplace(std::string(name), std::move(module)).first->second;
}

const ModuleEntry& require_module(std::string_view name) {
  const LoadedModule& module = load_module(name);
  if (module.entry == nullptr) {
    throw Error(fmt::format("the {} module cannot load: {}", name, module.error));
  }
  return *module.entry;
}

void ensure_module(std::string_view name) {
  if (modules_enabled()) {
    static_cast<void>(require_module(name));
  } else {
    static_cast<void>(NodeRegistry::builtin());
  }
}

}  // namespace hetero::detail

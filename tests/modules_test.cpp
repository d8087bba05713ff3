// The backend module loader, in a build with modules: where it looks, what it loads, and what it
// says when a module is absent. (The CLI's tests run the broken modules of tests/modules.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/modules.hpp"
#include "hetero/error.hpp"
#include "hetero/registry.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

TEST(Modules, TheEnvironmentsFoldersComeFirstThenTheOneBesideTheLibrary) {
  ASSERT_TRUE(detail::modules_enabled());
  const test::ScopedEnv path("HETERO_MODULE_PATH", "/first::/second:");
  const std::vector<std::filesystem::path> folders = detail::module_search_path();
  ASSERT_EQ(folders.size(), 3U);
  EXPECT_EQ(folders[0], "/first");
  EXPECT_EQ(folders[1], "/second");
  EXPECT_EQ(std::filesystem::canonical(folders[2]),
            std::filesystem::canonical(HETERO_MODULE_BUILD_DIR));
}

TEST(Modules, EveryBackendOfAModuleIsDescribedByTheModulesOwn) {
  const NodeRegistry& registry = NodeRegistry::builtin();
  int in_modules = 0;
  for (const std::filesystem::directory_entry& file :
       std::filesystem::directory_iterator(HETERO_MODULE_BUILD_DIR)) {
    const std::string stem = file.path().stem().string();  // hetero-<name>
    ASSERT_TRUE(stem.starts_with("hetero-")) << file.path();
    const detail::LoadedModule& module = detail::load_module(stem.substr(7));
    ASSERT_NE(module.entry, nullptr) << module.error;
    EXPECT_TRUE(module.error.empty()) << module.error;
    ASSERT_FALSE(module.backends->backends().empty()) << stem;
    for (const Backend& own : module.backends->backends()) {
      const Backend* listed = registry.find(own.name);
      ASSERT_NE(listed, nullptr) << own.name;
      EXPECT_TRUE(listed->built);
      const NodeInfo through_registry = registry.describe(own.name);
      const NodeInfo from_module = own.describe({});
      EXPECT_EQ(through_registry.available, from_module.available) << own.name;
      EXPECT_EQ(through_registry.reason, from_module.reason) << own.name;
      ++in_modules;
    }
  }
  EXPECT_GT(in_modules, 0);
}

TEST(Modules, AModuleNotFoundSaysWhereItLookedAndHowToPointThere) {
  const detail::LoadedModule& module = detail::load_module("not-built-anywhere");
  EXPECT_EQ(module.entry, nullptr);
  EXPECT_NE(module.error.find("hetero-not-built-anywhere.so not found in"), std::string::npos)
      << module.error;
  EXPECT_NE(module.error.find(std::filesystem::path(HETERO_MODULE_BUILD_DIR).filename().string()),
            std::string::npos)
      << module.error;
  EXPECT_NE(module.error.find("HETERO_MODULE_PATH"), std::string::npos) << module.error;
  try {
    detail::require_module("not-built-anywhere");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the not-built-anywhere module cannot load: "),
              std::string::npos)
        << e.what();
  }
}

TEST(Modules, ABrokenModuleFoundFirstIsNotPassedOver) {
  // A module of the same name in a folder searched before the library's: the loader stops at
  // it and says why it cannot load, rather than loading another copy. A name no other test
  // loads, so the result is this test's own.
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / "hetero-modules-test";
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(std::filesystem::path(HETERO_FAKE_MODULE_DIR) / "not_a_module" /
                                 ("hetero-" + std::string(HETERO_FAKE_MODULE_NAME) + ".so"),
                             folder / "hetero-only-in-a-test.so",
                             std::filesystem::copy_options::overwrite_existing);
  const test::ScopedEnv path("HETERO_MODULE_PATH", folder.string());
  const detail::LoadedModule& module = detail::load_module("only-in-a-test");
  std::filesystem::remove_all(folder);
  EXPECT_EQ(module.entry, nullptr);
  EXPECT_NE(module.error.find("is not a hetero module (it has no hetero_module_entry)"),
            std::string::npos)
      << module.error;
}

}  // namespace
}  // namespace hetero

// Tests of the link cache every device node keeps its measured link in (core/link_cache.hpp):
// figures survive the file exactly, a probe runs only when the cache holds nothing valid, and a
// corrupt, mismatching, stale or unwritable cache is reported and measured again, never trusted.
// A counting fake stands in for the probe, so nothing here needs a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/link_cache.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

LinkIdentity test_identity(std::string driver = "driver 1.0") {
  return {"fake", "fake platform", "fake device at 0000:01:00.0", std::move(driver)};
}

// Figures that tell pageable from pinned and small from large copies apart.
LinkFigures test_figures(double scale = 1.0) {
  LinkFigures figures;
  figures.to_device.latency_s = 5e-6 * scale;
  figures.to_device.pageable_bytes_per_s = {{65536, 2e9 * scale}, {16777216, 10e9 * scale}};
  figures.to_device.pinned_bytes_per_s = {{65536, 3e9 * scale}, {16777216, 25e9 * scale}};
  figures.to_host.latency_s = 7e-6 * scale;
  figures.to_host.pageable_bytes_per_s = {{65536, 1.5e9 * scale}, {16777216, 8e9 * scale}};
  figures.to_host.pinned_bytes_per_s = {{65536, 2.5e9 * scale}, {16777216, 0.1 / 3 * 1e12 * scale}};
  return figures;
}

// A probe that counts its runs and returns `figures`.
class FakeProbe {
 public:
  explicit FakeProbe(LinkFigures figures = test_figures()) : figures_(std::move(figures)) {}
  Link link(LinkLookup lookup = LinkLookup::cached, const LinkIdentity& identity = test_identity(),
            Staging staging = Staging::pinned) {
    return device_link(identity, staging, lookup, [this] {
      ++runs_;
      return figures_;
    });
  }
  int runs() const { return runs_; }

 private:
  LinkFigures figures_;
  std::atomic<int> runs_{0};
};

void write_text(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

TEST(LinkFigures, LinkCarriesTheLargestCopyOfItsStagingMemory) {
  const LinkFigures figures = test_figures();
  const Link pinned = figures.link(Staging::pinned);
  EXPECT_FALSE(pinned.zero_copy);
  EXPECT_DOUBLE_EQ(pinned.to_device_bytes_per_s, 25e9);
  EXPECT_DOUBLE_EQ(pinned.to_host_bytes_per_s, 0.1 / 3 * 1e12);
  EXPECT_DOUBLE_EQ(pinned.to_device_latency_s, 5e-6);
  EXPECT_DOUBLE_EQ(pinned.to_host_latency_s, 7e-6);
  const Link pageable = figures.link(Staging::pageable);
  EXPECT_DOUBLE_EQ(pageable.to_device_bytes_per_s, 10e9);
  EXPECT_DOUBLE_EQ(pageable.to_host_bytes_per_s, 8e9);
  // Every size measured travels with the link, whichever memory the node stages in.
  EXPECT_EQ(pageable.to_device_by_size.pinned, figures.to_device.pinned_bytes_per_s);
  EXPECT_EQ(pinned.to_host_by_size.pageable, figures.to_host.pageable_bytes_per_s);
}

// Unless the application opts in, the library writes no cache and prints nothing: the link is
// measured once and kept in the process.
TEST(LinkCache, WithoutACacheDirectoryNothingIsWrittenAndTheLinkStaysInTheProcess) {
  const test::ScopedCacheHome home;
  set_cache_directory(std::nullopt);
  EXPECT_TRUE(link_cache_file().empty());
  FakeProbe probe;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(probe.link().source, "probe");
  EXPECT_EQ(probe.link().source, "probe");
  const std::string printed = ::testing::internal::GetCapturedStderr();
  set_cache_directory(std::filesystem::path());
  EXPECT_EQ(probe.runs(), 1) << "the process kept the figures";
  EXPECT_EQ(printed, "");
  EXPECT_FALSE(std::filesystem::exists(home.links_file()));
  EXPECT_FALSE(std::filesystem::exists(home.links_file().parent_path()));
}

TEST(LinkCache, MeasuresOnceThenReadsTheFileBackExactly) {
  const test::ScopedCacheHome home;
  EXPECT_EQ(link_cache_file(), home.links_file());
  FakeProbe probe;
  const Link measured = probe.link();
  EXPECT_EQ(measured.source, "probe");
  EXPECT_EQ(probe.runs(), 1);
  ASSERT_TRUE(std::filesystem::exists(home.links_file()));

  const Link cached = probe.link();
  EXPECT_EQ(probe.runs(), 1) << "the second lookup measured again";
  EXPECT_EQ(cached.source, "cache");
  // Bit for bit: a third of a TB/s has no short decimal form.
  EXPECT_EQ(cached.to_host_bytes_per_s, measured.to_host_bytes_per_s);
  EXPECT_EQ(cached.to_device_bytes_per_s, measured.to_device_bytes_per_s);
  EXPECT_EQ(cached.to_host_latency_s, measured.to_host_latency_s);
  EXPECT_EQ(cached.to_device_latency_s, measured.to_device_latency_s);

  const auto json = nlohmann::json::parse(test::read_text(home.links_file()));
  EXPECT_EQ(json["format"], "hetero-links-1");
  const auto& entry = json["links"][test_identity().key()];
  EXPECT_EQ(entry["backend"], "fake");
  EXPECT_EQ(entry["driver"], "driver 1.0");
  EXPECT_GT(entry["measured_unix_s"].get<std::int64_t>(), 0);
  EXPECT_EQ(entry["to_device"]["pinned_bytes_per_s"].size(), 2U);

  // known_link reads the same entry; another staging gets the other table.
  const auto known = known_link(test_identity(), Staging::pageable);
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->source, "cache");
  EXPECT_DOUBLE_EQ(known->to_device_bytes_per_s, 10e9);
}

TEST(LinkCache, KnownLinkNeverMeasures) {
  const test::ScopedCacheHome home;
  EXPECT_FALSE(known_link(test_identity(), Staging::pinned).has_value());
  EXPECT_FALSE(std::filesystem::exists(home.links_file()));
  write_text(home.links_file(), "not json");
  EXPECT_EQ(test::log_of([] { EXPECT_FALSE(known_link(test_identity(), Staging::pinned)); }), "");
}

TEST(LinkCache, RemeasureReplacesTheEntry) {
  const test::ScopedCacheHome home;
  FakeProbe first;
  first.link();
  FakeProbe second(test_figures(2.0));
  const Link remeasured = second.link(LinkLookup::remeasure);
  EXPECT_EQ(second.runs(), 1);
  EXPECT_EQ(remeasured.source, "probe");
  EXPECT_DOUBLE_EQ(remeasured.to_device_bytes_per_s, 50e9);
  const Link cached = first.link();
  EXPECT_EQ(first.runs(), 1);
  EXPECT_EQ(cached.source, "cache");
  EXPECT_DOUBLE_EQ(cached.to_device_bytes_per_s, 50e9);
}

TEST(LinkCache, ANewDriverMeasuresAgainAndDropsTheStaleEntryOnly) {
  const test::ScopedCacheHome home;
  FakeProbe probe;
  probe.link();
  LinkIdentity other_device = test_identity();
  other_device.device = "another device";
  probe.link(LinkLookup::cached, other_device);
  ASSERT_EQ(probe.runs(), 2);

  const LinkIdentity updated = test_identity("driver 2.0");
  const std::string said =
      test::log_of([&] { EXPECT_EQ(probe.link(LinkLookup::cached, updated).source, "probe"); });
  EXPECT_EQ(said, "") << "an absent entry is not a problem to report";
  EXPECT_EQ(probe.runs(), 3);
  const auto links = nlohmann::json::parse(test::read_text(home.links_file()))["links"];
  EXPECT_FALSE(links.contains(test_identity().key())) << "the old driver's entry is stale";
  EXPECT_TRUE(links.contains(updated.key()));
  EXPECT_TRUE(links.contains(other_device.key())) << "another device's entry was dropped";
}

TEST(LinkCache, CorruptFileIsReportedOnceAndRebuilt) {
  for (const std::string& text : {std::string("{ \"links\": { this is not json"),
                                  std::string("[1, 2]"), std::string("{\"links\": 3}"),
                                  std::string(), std::string("{\"format\": \"hetero-links-0\"}")}) {
    SCOPED_TRACE(text);
    const test::ScopedCacheHome home;
    write_text(home.links_file(), text);
    FakeProbe probe;
    const std::string said = test::log_of([&] { EXPECT_EQ(probe.link().source, "probe"); });
    EXPECT_EQ(probe.runs(), 1);
    EXPECT_NE(said.find(home.links_file().string()), std::string::npos) << said;
    EXPECT_NE(said.find("measuring the link again"), std::string::npos) << said;
    EXPECT_EQ(std::count(said.begin(), said.end(), '\n'), 1) << said;
    EXPECT_EQ(probe.link().source, "cache") << "the cache was not rewritten";
    EXPECT_EQ(probe.runs(), 1);
  }
}

TEST(LinkCache, UnusableEntriesAreReportedAndMeasuredAgain) {
  const LinkIdentity identity = test_identity();
  const auto corrupt = [](const std::string& pointer, const nlohmann::json& value) {
    return [=](nlohmann::json& entry) { entry[nlohmann::json::json_pointer(pointer)] = value; };
  };
  const struct {
    std::function<void(nlohmann::json&)> edit;
    std::string reported;
  } cases[] = {
      {corrupt("/to_host/latency_s", -1), "incomplete"},
      {corrupt("/to_host/latency_s", "fast"), "incomplete"},
      {corrupt("/to_device/pinned_bytes_per_s", nlohmann::json::object()), "incomplete"},
      {corrupt("/to_device/pinned_bytes_per_s", {{"0", 1e9}}), "incomplete"},
      {corrupt("/to_device/pinned_bytes_per_s", {{"-65536", 1e9}}), "incomplete"},
      {corrupt("/to_device/pinned_bytes_per_s", {{"64k", 1e9}}), "incomplete"},
      {corrupt("/to_device/pageable_bytes_per_s", {{"65536", 0}}), "incomplete"},
      {[](nlohmann::json& entry) { entry.erase("to_host"); }, "incomplete"},
      {[](nlohmann::json& entry) { entry = 42; }, "not an object"},
      {corrupt("/device", "someone else's device"), "does not match"},
      {corrupt("/backend", nlohmann::json::array()), "does not match"},
  };
  for (const auto& test : cases) {
    const test::ScopedCacheHome home;
    FakeProbe probe;
    probe.link();
    auto json = nlohmann::json::parse(test::read_text(home.links_file()));
    json["links"]["kept|entry"] = {{"backend", "kept"}};
    test.edit(json["links"][identity.key()]);
    SCOPED_TRACE(json.dump());
    write_text(home.links_file(), json.dump());

    const std::string said = test::log_of([&] { EXPECT_EQ(probe.link().source, "probe"); });
    EXPECT_EQ(probe.runs(), 2);
    EXPECT_NE(said.find(test.reported), std::string::npos) << said;
    json = nlohmann::json::parse(test::read_text(home.links_file()));
    EXPECT_TRUE(json["links"].contains("kept|entry")) << "another entry was lost on rewrite";
    EXPECT_EQ(probe.link().source, "cache");
  }
}

TEST(LinkCache, UnwritableCacheIsReportedOnceAndTheFiguresKeptForTheProcess) {
  const test::ScopedCacheHome home;
  // A regular file where the cache directory's parent should be: nothing can be created there,
  // even by root.
  const std::filesystem::path blocker = home.links_file().parent_path().parent_path() / "blocker";
  write_text(blocker, "a file, not a directory");
  const test::ScopedEnv cache_dir("HETERO_CACHE_DIR", (blocker / "hetero").string());
  FakeProbe probe;
  const std::string said = test::log_of([&] { EXPECT_EQ(probe.link().source, "probe"); });
  EXPECT_NE(said.find("cannot be written"), std::string::npos) << said;
  EXPECT_EQ(std::count(said.begin(), said.end(), '\n'), 1) << said;

  const std::string again = test::log_of([&] {
    const Link kept = probe.link();
    EXPECT_EQ(kept.source, "probe");
    EXPECT_DOUBLE_EQ(kept.to_device_bytes_per_s, 25e9);
  });
  EXPECT_EQ(probe.runs(), 1) << "the figures were not kept in memory";
  EXPECT_EQ(again, "") << "the problem was reported twice";
  EXPECT_TRUE(known_link(test_identity(), Staging::pinned).has_value());
}

TEST(LinkCache, AFailedProbeWritesNothing) {
  const test::ScopedCacheHome home;
  EXPECT_THROW(device_link(test_identity(), Staging::pinned, LinkLookup::cached,
                           []() -> LinkFigures { throw std::runtime_error("copy failed"); }),
               std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(home.links_file()));
  EXPECT_FALSE(known_link(test_identity(), Staging::pinned).has_value());
}

TEST(LinkCache, NodesOpenedTogetherProbeOnce) {
  const test::ScopedCacheHome home;
  FakeProbe probe;
  std::vector<std::thread> nodes;
  std::atomic<int> from_cache{0};
  for (int i = 0; i < 4; ++i) {
    nodes.emplace_back([&] {
      if (probe.link().source == "cache") ++from_cache;
    });
  }
  for (std::thread& node : nodes) node.join();
  EXPECT_EQ(probe.runs(), 1);
  EXPECT_EQ(from_cache.load(), 3);
}

TEST(LinkCacheDocument, StoresWhatItFindsAndKeepsOtherEntries) {
  LinkCacheDocument document(R"({"links": {"a|b|c|d": {"backend": "a"}}, "extra": [1]})", "t");
  ASSERT_EQ(document.problem(), "");
  std::string why;
  EXPECT_FALSE(document.find(test_identity(), why).has_value());
  EXPECT_EQ(why, "");
  document.store(test_identity(), test_figures(), 1);
  const LinkCacheDocument again(document.dump(), "t");
  ASSERT_EQ(again.problem(), "");
  EXPECT_EQ(again.keys(), (std::vector<std::string>{"a|b|c|d", test_identity().key()}));
  const auto found = again.find(test_identity(), why);
  ASSERT_TRUE(found.has_value()) << why;
  EXPECT_EQ(*found, test_figures());
}

}  // namespace
}  // namespace hetero

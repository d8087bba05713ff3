// Fuzz target: the link cache file (links.json) the device nodes read their measured link from
// (hetero::LinkCacheDocument, and hetero::device_link over a file holding the input).
//
// Input: the file's text. The probe identity's key is "fuzz|fuzz platform|fuzz device|fuzz
// driver", which a corpus can spell. Contracts:
//   - LinkCacheDocument never throws, whatever the text;
//   - figures find() returns are whole: positive finite latencies, non-empty tables of sizes
//     above zero to positive finite rates;
//   - store() then dump() gives a cache that parses without a problem and finds exactly the
//     stored figures, keeping every other entry except stale ones of the same device;
//   - device_link over a file with the text measures exactly when the document has no usable
//     entry, says "cache" exactly when it did not measure, and leaves a file that finds the
//     figures it returned.
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/link_cache.hpp"
#include "fuzz_support.hpp"
#include "hetero/settings.hpp"

namespace {

using hetero::fuzz::check;

const hetero::LinkIdentity& probe_identity() {
  static const hetero::LinkIdentity identity{"fuzz", "fuzz platform", "fuzz device", "fuzz driver"};
  return identity;
}

// What the fake probe measures: values with no short decimal form, to catch any rounding.
const hetero::LinkFigures& probe_figures() {
  static const hetero::LinkFigures figures = [] {
    hetero::LinkFigures out;
    for (hetero::LinkDirection* direction : {&out.to_device, &out.to_host}) {
      direction->latency_s = 1.0 / 3e5;
      direction->pageable_bytes_per_s = {{65536, 1e10 / 3}, {16777216, 1e10 / 7}};
      direction->pinned_bytes_per_s = {{16777216, 5e10 / 3}};
    }
    return out;
  }();
  return figures;
}

bool positive_finite(double value) {
  return std::isfinite(value) && value > 0;
}

void check_whole(const hetero::LinkFigures& figures) {
  for (const hetero::LinkDirection* direction : {&figures.to_device, &figures.to_host}) {
    check(positive_finite(direction->latency_s), "a found latency is positive and finite");
    for (const auto* table : {&direction->pageable_bytes_per_s, &direction->pinned_bytes_per_s}) {
      check(!table->empty(), "a found table is not empty");
      for (const auto& [bytes, rate] : *table) {
        check(bytes > 0 && positive_finite(rate), "a found rate is for some bytes, and positive");
      }
    }
  }
}

// Whether the entry under `key` of the original text is a stale entry of the probe's device.
bool stale_entry(const nlohmann::json& original, const std::string& key) {
  const nlohmann::json& entry = original.at("links").at(key);
  const hetero::LinkIdentity& identity = probe_identity();
  return entry.is_object() && entry.value("backend", nlohmann::json()) == identity.backend &&
         entry.value("platform", nlohmann::json()) == identity.platform &&
         entry.value("device", nlohmann::json()) == identity.device;
}

void check_store(const hetero::LinkCacheDocument& document, const std::string& text) {
  hetero::LinkCacheDocument stored = document;
  stored.store(probe_identity(), probe_figures(), 1);
  const hetero::LinkCacheDocument again(stored.dump(), "fuzz");
  check(again.problem().empty(), "a stored cache parses without a problem");
  std::string why;
  const auto found = again.find(probe_identity(), why);
  check(found.has_value() && *found == probe_figures(), "a stored cache finds the stored figures");

  const std::vector<std::string> after = again.keys();
  const std::set<std::string> kept(after.begin(), after.end());
  const nlohmann::json original = nlohmann::json::parse(text, nullptr, false);
  for (const std::string& key : document.keys()) {
    check(kept.count(key) == 1 || (key != probe_identity().key() && stale_entry(original, key)),
          "store() keeps every entry but the stale ones of the same device");
  }
  check(after.size() <= document.keys().size() + 1, "store() adds one entry at most");
}

void check_device_link(const std::string& text, bool usable) {
  static const std::filesystem::path directory = [] {
    const std::filesystem::path path = hetero::fuzz::scratch_path("cache");
    std::filesystem::create_directories(path);
    hetero::set_cache_directory(path);
    return path;
  }();
  const std::filesystem::path file = directory / "links.json";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  int runs = 0;
  hetero::Link link;
  {
    link = hetero::device_link(probe_identity(), hetero::Staging::pinned,
                               hetero::LinkLookup::cached, [&runs] {
                                 ++runs;
                                 return probe_figures();
                               });
  }
  check(runs == (usable ? 0 : 1), "device_link measures exactly when the cache has no entry");
  check(link.source == (usable ? "cache" : "probe"), "device_link names where its link is from");

  std::ifstream in(file, std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const hetero::LinkCacheDocument after(written, "fuzz");
  std::string why;
  const auto found = after.find(probe_identity(), why);
  check(after.problem().empty() && found.has_value(), "device_link leaves a usable cache");
  const hetero::Link kept = found->link(hetero::Staging::pinned);
  check(kept.to_device_bytes_per_s == link.to_device_bytes_per_s &&
            kept.to_host_bytes_per_s == link.to_host_bytes_per_s &&
            kept.to_device_latency_s == link.to_device_latency_s &&
            kept.to_host_latency_s == link.to_host_latency_s,
        "the cache device_link leaves holds the link it returned");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(hetero::fuzz::as_text(data, size));
  const hetero::LinkCacheDocument document(text, "fuzz");
  std::optional<hetero::LinkFigures> found;
  if (document.problem().empty()) {
    std::string why;
    found = document.find(probe_identity(), why);
    if (found) {
      check(why.empty(), "find() gives figures or a reason, not both");
      check_whole(*found);
    }
    check_store(document, text);
  } else {
    check(document.keys().empty(), "a document with a problem is empty");
  }
  check_device_link(text, found.has_value());
  return 0;
}

// Measured device links and their on-disk cache.
#include "core/link_cache.hpp"

#include <charconv>
#include <cmath>
#include <ctime>
#include <mutex>
#include <set>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/file_text.hpp"
#include "hetero/error.hpp"
#include "hetero/model.hpp"
#include "hetero/output.hpp"
#include "hetero/settings.hpp"

namespace hetero {
namespace {

constexpr std::string_view kCacheFormat = "hetero-links-1";

nlohmann::json to_json(const std::map<std::uint64_t, double>& table) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [bytes, rate] : table) out[std::to_string(bytes)] = rate;
  return out;
}

nlohmann::json to_json(const LinkDirection& direction) {
  return {{"latency_s", direction.latency_s},
          {"pageable_bytes_per_s", to_json(direction.pageable_bytes_per_s)},
          {"pinned_bytes_per_s", to_json(direction.pinned_bytes_per_s)}};
}

bool positive_finite(const nlohmann::json& value) {
  return value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() > 0;
}

// Reads a table written by to_json: sizes in bytes (decimal, no sign) to positive rates. False
// when it is malformed or empty.
bool read_table(const nlohmann::json& json, std::map<std::uint64_t, double>& table) {
  if (!json.is_object() || json.empty()) return false;
  for (const auto& [key, value] : json.items()) {
    std::uint64_t bytes = 0;
    const auto parsed = std::from_chars(key.data(), key.data() + key.size(), bytes);
    if (parsed.ec != std::errc() || parsed.ptr != key.data() + key.size() || bytes == 0 ||
        !positive_finite(value)) {
      return false;
    }
    table[bytes] = value.get<double>();
  }
  return true;
}

bool read_direction(const nlohmann::json& json, LinkDirection& direction) {
  if (!json.is_object() || !json.contains("latency_s") || !positive_finite(json["latency_s"])) {
    return false;
  }
  direction.latency_s = json["latency_s"].get<double>();
  return json.contains("pageable_bytes_per_s") && json.contains("pinned_bytes_per_s") &&
         read_table(json["pageable_bytes_per_s"], direction.pageable_bytes_per_s) &&
         read_table(json["pinned_bytes_per_s"], direction.pinned_bytes_per_s);
}

// A string field of `entry`, or "(missing)".
std::string field(const nlohmann::json& entry, const char* name) {
  const auto found = entry.find(name);
  return found != entry.end() && found->is_string() ? found->get<std::string>()
                                                    : std::string("(missing)");
}

// Gives `message` to the application's log unless this process already did.
void report_once(const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> reported;
  const std::lock_guard lock(mutex);
  if (reported.insert(message).second) detail::log_warning(message);
}

// Serialises device_link() and known_link(): one probe at a time, one writer of the file.
std::mutex cache_mutex;
// Figures measured in this process that the cache could not keep, by file and key.
std::map<std::string, LinkFigures> unsaved_figures;

std::string memo_key(const std::filesystem::path& file, const LinkIdentity& identity) {
  return file.string() + '\n' + identity.key();
}

// The cache file as a document; an absent file is an empty cache. Sets `problem` when the
// file exists but cannot be read.
LinkCacheDocument read_cache(const std::filesystem::path& file, std::string& problem) {
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return {};
  const std::optional<std::string> text = detail::read_file_text(file);
  if (!text) {
    problem = fmt::format("link cache {} cannot be read", file.string());
    return {};
  }
  LinkCacheDocument document(*text, file.string());
  problem = document.problem();
  return document;
}

// Writes `document` over `file` through a temporary file; sets `problem` when it cannot.
bool write_cache(const std::filesystem::path& file, const LinkCacheDocument& document,
                 std::string& problem) {
  if (file.empty()) return false;  // no cache on disk: the figures stay in the process
  std::error_code error;
  std::filesystem::create_directories(file.parent_path(), error);
  try {
    OutputFile out(file);
    out.stream() << document.dump() << '\n';
    out.commit();
    return true;
  } catch (const Error& e) {
    problem = fmt::format(
        "the link cache cannot be written ({}); the link will be measured again "
        "in the next run",
        e.what());
    return false;
  }
}

}  // namespace

Link LinkFigures::link(Staging staging) const {
  Link link;
  link.zero_copy = false;
  link.to_device_latency_s = to_device.latency_s;
  link.to_host_latency_s = to_host.latency_s;
  const auto largest = [staging](const LinkDirection& direction) {
    const auto& table =
        staging == Staging::pinned ? direction.pinned_bytes_per_s : direction.pageable_bytes_per_s;
    return table.empty() ? 0.0 : table.rbegin()->second;
  };
  link.to_device_bytes_per_s = largest(to_device);
  link.to_host_bytes_per_s = largest(to_host);
  link.to_device_by_size = {to_device.pageable_bytes_per_s, to_device.pinned_bytes_per_s};
  link.to_host_by_size = {to_host.pageable_bytes_per_s, to_host.pinned_bytes_per_s};
  return link;
}

std::string LinkIdentity::key() const {
  return fmt::format("{}|{}|{}|{}", backend, platform, device, driver);
}

LinkCacheDocument::LinkCacheDocument(std::string_view text, std::string file)
    : file_(std::move(file)) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() ||
      (json.contains("links") && !json["links"].is_object())) {
    problem_ =
        fmt::format("link cache {} is corrupt (not a JSON object with a 'links' object)", file_);
    return;
  }
  if (json.contains("format") && json["format"] != kCacheFormat) {
    problem_ = fmt::format("link cache {} has format {} where {} was expected", file_,
                           json["format"].dump(), kCacheFormat);
    return;
  }
  json_ = std::move(json);
}

std::optional<LinkFigures> LinkCacheDocument::find(const LinkIdentity& identity,
                                                   std::string& why) const {
  const auto links = json_.find("links");
  if (links == json_.end()) return std::nullopt;
  const auto found = links->find(identity.key());
  if (found == links->end()) return std::nullopt;
  const nlohmann::json& entry = *found;
  if (!entry.is_object()) {
    why = fmt::format("link cache {} is corrupt: the entry of {} is not an object", file_,
                      identity.device);
    return std::nullopt;
  }
  if (field(entry, "backend") != identity.backend ||
      field(entry, "platform") != identity.platform || field(entry, "device") != identity.device ||
      field(entry, "driver") != identity.driver) {
    why = fmt::format(
        "link cache {} does not match {} '{}' on '{}' with driver '{}': its entry is for {} "
        "'{}' on '{}' with driver '{}'",
        file_, identity.backend, identity.device, identity.platform, identity.driver,
        field(entry, "backend"), field(entry, "device"), field(entry, "platform"),
        field(entry, "driver"));
    return std::nullopt;
  }
  LinkFigures figures;
  if (!entry.contains("to_device") || !entry.contains("to_host") ||
      !read_direction(entry["to_device"], figures.to_device) ||
      !read_direction(entry["to_host"], figures.to_host)) {
    why = fmt::format("link cache {} is corrupt: the figures of {} are incomplete", file_,
                      identity.device);
    return std::nullopt;
  }
  return figures;
}

void LinkCacheDocument::store(const LinkIdentity& identity, const LinkFigures& figures,
                              std::int64_t measured_unix_s) {
  json_["format"] = kCacheFormat;
  if (!json_.contains("links") || !json_["links"].is_object()) {
    json_["links"] = nlohmann::json::object();
  }
  nlohmann::json& links = json_["links"];
  const std::string key = identity.key();
  std::vector<std::string> stale;
  for (const auto& [other_key, entry] : links.items()) {
    // Compared as JSON values, so an entry with fields of another type is simply not a match.
    if (other_key != key && entry.is_object() &&
        entry.value("backend", nlohmann::json()) == identity.backend &&
        entry.value("platform", nlohmann::json()) == identity.platform &&
        entry.value("device", nlohmann::json()) == identity.device) {
      stale.push_back(other_key);
    }
  }
  for (const std::string& other_key : stale) links.erase(other_key);
  links[key] = {{"backend", identity.backend},        {"platform", identity.platform},
                {"device", identity.device},          {"driver", identity.driver},
                {"measured_unix_s", measured_unix_s}, {"to_device", to_json(figures.to_device)},
                {"to_host", to_json(figures.to_host)}};
}

std::vector<std::string> LinkCacheDocument::keys() const {
  std::vector<std::string> keys;
  if (const auto links = json_.find("links"); links != json_.end()) {
    for (const auto& [key, entry] : links->items()) keys.push_back(key);
  }
  return keys;
}

std::string LinkCacheDocument::dump() const {
  // Invalid UTF-8 in strings the file held is replaced rather than thrown about.
  return json_.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::filesystem::path link_cache_file() {
  const std::optional<std::filesystem::path> directory = persistent_cache_directory();
  return directory ? *directory / "links.json" : std::filesystem::path();
}

Link device_link(const LinkIdentity& identity, Staging staging, LinkLookup lookup,
                 const std::function<LinkFigures()>& measure) {
  const std::filesystem::path file = link_cache_file();
  const std::string memo = memo_key(file, identity);
  const std::lock_guard lock(cache_mutex);
  std::string problem;
  LinkCacheDocument cache = read_cache(file, problem);
  if (lookup == LinkLookup::cached) {
    if (problem.empty()) {
      if (const auto figures = cache.find(identity, problem)) {
        Link link = figures->link(staging);
        link.source = "cache";
        return link;
      }
    }
    if (const auto kept = unsaved_figures.find(memo); kept != unsaved_figures.end()) {
      Link link = kept->second.link(staging);
      link.source = "probe";
      return link;
    }
    if (!problem.empty()) report_once(problem + "; measuring the link again");
  }

  const LinkFigures figures = measure();
  Link link = figures.link(staging);
  link.source = "probe";
  cache.store(identity, figures, static_cast<std::int64_t>(std::time(nullptr)));
  problem.clear();
  if (write_cache(file, cache, problem)) {
    unsaved_figures.erase(memo);
  } else {
    if (!problem.empty()) report_once(problem);
    unsaved_figures[memo] = figures;
  }
  return link;
}

Link unmeasured_link() {
  Link link;
  link.zero_copy = false;
  link.source = "not measured";
  return link;
}

std::optional<Link> known_link(const LinkIdentity& identity, Staging staging) {
  const std::filesystem::path file = link_cache_file();
  const std::lock_guard lock(cache_mutex);
  std::string ignored;
  const LinkCacheDocument cache = read_cache(file, ignored);
  const std::optional<LinkFigures> figures = cache.find(identity, ignored);
  if (figures) {
    Link link = figures->link(staging);
    link.source = "cache";
    return link;
  }
  if (const auto kept = unsaved_figures.find(memo_key(file, identity));
      kept != unsaved_figures.end()) {
    Link link = kept->second.link(staging);
    link.source = "probe";
    return link;
  }
  return std::nullopt;
}

}  // namespace hetero

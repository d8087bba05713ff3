// Measured device links and their on-disk cache, links.json in cache_directory(), shared by every
// device node (opencl, cuda, thrust). A node measures its link once; later runs read it back. An
// entry is keyed by the device's identity and is never trusted blindly: a corrupt file, an entry
// that is not well formed or that describes another device or driver is reported and measured
// again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hetero/backend/node.hpp"

namespace hetero {

/// One direction of a link: medians of repeated blocking copies.
struct LinkDirection {
  double latency_s = 0;                                  ///< a copy of a few bytes
  std::map<std::uint64_t, double> pageable_bytes_per_s;  ///< by copy size in bytes
  std::map<std::uint64_t, double> pinned_bytes_per_s;    ///< from page-locked host memory

  friend bool operator==(const LinkDirection&, const LinkDirection&) = default;
};

/// The host memory a node stages its copies in; it decides which bandwidth its Link carries.
enum class Staging : std::uint8_t { pageable, pinned };

/// What a link probe measured, both directions.
struct LinkFigures {
  LinkDirection to_device, to_host;

  /// The figures a node carries: the latencies, the bandwidth of the largest copy from
  /// `staging` memory, and every size measured. zero_copy is false; source is left to the caller.
  Link link(Staging staging) const;

  friend bool operator==(const LinkFigures&, const LinkFigures&) = default;
};

/// Whose link it is. The cache keys an entry by all four fields; an entry of the same backend,
/// platform and device with another driver is stale and dropped when the link is stored.
struct LinkIdentity {
  std::string backend;   ///< the family that measures it: "opencl", or "cuda" for cuda and thrust
  std::string platform;  ///< the OpenCL platform, or the CUDA runtime
  std::string device;    ///< the device's name, and where it sits when that is known
  std::string driver;    ///< the driver's version: after an update the link is measured again

  /// "backend|platform|device|driver".
  std::string key() const;
};

/// A links.json document in memory. Whatever the text holds, nothing here throws: problem()
/// says why a text is not a link cache, find() why an entry cannot be used.
class LinkCacheDocument {
 public:
  /// An empty cache.
  LinkCacheDocument() = default;
  /// Parses `text`, the content of `file` (named in messages).
  LinkCacheDocument(std::string_view text, std::string file);

  /// Why the text is not a link cache (then the document is empty); empty when it is one.
  const std::string& problem() const { return problem_; }

  /// The figures stored for `identity`. nullopt when there is no entry, or when the entry is
  /// unusable: then `why` says what is wrong with it.
  std::optional<LinkFigures> find(const LinkIdentity& identity, std::string& why) const;

  /// Stores `figures` for `identity`, keeping every other entry except the stale ones of the
  /// same device.
  void store(const LinkIdentity& identity, const LinkFigures& figures,
             std::int64_t measured_unix_s);

  /// The keys of the entries, in order.
  std::vector<std::string> keys() const;

  /// The document as the cache file holds it.
  std::string dump() const;

 private:
  std::string file_;
  nlohmann::json json_ = nlohmann::json::object();
  std::string problem_;
};

/// links.json in persistent_cache_directory(); an empty path when the application keeps no
/// cache on disk (the default: see hetero/settings.hpp).
std::filesystem::path link_cache_file();

enum class LinkLookup : std::uint8_t {
  cached,     ///< the cache's figures when they are valid for the device, else measure and store
  remeasure,  ///< measure and store whatever the cache holds
};

/// The link of `identity`, with source "cache" or "probe"; `measure` runs the probe when one is
/// needed (its exceptions propagate). A problem with the cache is reported once per process to
/// the application's log before measuring again; a cache that cannot be written is reported
/// once and the figures are kept in memory for the rest of the process, as they are when no
/// cache is kept on disk. Calls are serialised in a process,
/// so two nodes never probe at the same time.
Link device_link(const LinkIdentity& identity, Staging staging, LinkLookup lookup,
                 const std::function<LinkFigures()>& measure);

/// A device link not measured yet: not zero-copy, no figures, source "not measured".
Link unmeasured_link();

/// The link of `identity` if the cache, or this process, already holds valid figures for it;
/// nullopt otherwise. Never measures and reports nothing.
std::optional<Link> known_link(const LinkIdentity& identity, Staging staging);

}  // namespace hetero

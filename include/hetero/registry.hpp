// The node registry: every backend registers itself; nodes are chosen by name at run time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hetero/error.hpp"
#include "hetero/node.hpp"

namespace hetero {

class Node;  // hetero/backend/node.hpp

/// One backend as the registry knows it, built into this library or not.
struct Backend {
  std::string name;
  NodeKind kind = NodeKind::host;
  bool built = false;
  std::string not_built_reason;  ///< why this build has no such node
  /// Says whether the node can run here and on what, without taking the resource.
  std::function<NodeInfo(const NodeOptions&)> describe;
  /// Creates a node; throws Error if the resource cannot be opened.
  std::function<std::unique_ptr<Node>(const NodeOptions&)> create;
  /// Optional: every device this backend can drive (one NodeInfo each), for `hetero devices`.
  std::function<std::vector<NodeInfo>()> enumerate;
  /// Optional: measures the link of the selected device anew (and refreshes any cache).
  std::function<Link(const NodeOptions&)> probe;
};

/// A node as a list names it: "NAME" or "NAME:DEVICE" (a device node on one device, e.g.
/// "cuda:1", "opencl:0"; the device as --device takes it).
struct NodeEntry {
  std::string_view name;
  std::optional<std::string_view> device;
};
NodeEntry split_node_entry(std::string_view entry);

/// Backend names below may carry a device ("NAME:DEVICE", see NodeEntry): the device replaces
/// NodeOptions::device for that node. A device given to a host node is a UsageError.
class NodeRegistry {
 public:
  /// The registry of every backend compiled into this library (and those that are not).
  static const NodeRegistry& builtin();

  void add(Backend backend);
  const std::vector<Backend>& backends() const { return backends_; }
  const Backend* find(std::string_view name) const;
  std::vector<std::string> names() const;

  /// Availability of one backend; a backend not built reports that as its reason.
  NodeInfo describe(std::string_view name, const NodeOptions& options = {}) const;
  /// Creates node `name`. Throws UsageError when the name is unknown (listing the known ones),
  /// the backend is not built or its resource is absent (saying why).
  std::unique_ptr<Node> create(std::string_view name, const NodeOptions& options = {}) const;

 private:
  std::vector<Backend> backends_;
};

/// The nodes a run uses and their options, planned so that nodes on the same hardware (equal
/// NodeInfo::resource) are not scheduled as if they were independent.
struct NodePlan {
  std::vector<std::string> names;
  std::vector<NodeOptions> options;
  std::vector<std::string> notes;  ///< what was split or dropped, and why
};

/// What nodes on the same hardware (equal NodeInfo::resource) get.
enum class Sharing : std::uint8_t {
  /// Nodes that share the host CPU split its hardware threads between them (nodes with a fixed
  /// worker count keep theirs; a node left without a core is dropped); of nodes sharing any
  /// other resource only the first named is kept.
  split,
  all,      ///< every node runs as asked; oversubscription is noted (--share)
  fastest,  ///< every node gets all of it; each run under auto keeps the one predicted fastest
};

NodePlan plan_nodes(const std::vector<std::string>& names, const NodeOptions& base, Sharing sharing,
                    const NodeRegistry& registry);

/// The backends a run falls back to when some it was asked for cannot run here.
struct FallbackChoice {
  std::vector<std::string> names;            ///< the available ones of those asked, in order
  std::vector<UnavailableNode> unavailable;  ///< the others, with the reason each cannot run
  /// One line per unavailable backend saying why and where its tiles run instead.
  std::vector<std::string> notes() const;
};

/// Keeps the backends of `names` that are available with `options`. When none is, `fallback`
/// (threads by default: built everywhere; none when empty) runs in their place. Throws
/// UsageError when even that cannot run.
FallbackChoice fall_back_to_available(const std::vector<std::string>& names,
                                      const NodeRegistry& registry, const NodeOptions& options,
                                      std::string_view fallback = "threads");

/// Parses the nodes of one set, "a,b,c" (or "a+b+c", the same), or "all" (every available
/// backend), into node entries (NAME or NAME:DEVICE); throws UsageError for an unknown or
/// repeated entry, or a device a backend cannot have.
std::vector<std::string> parse_backend_list(std::string_view text, const NodeRegistry& registry,
                                            const NodeOptions& options = {});

/// The one rule for backends that cannot run here, for every command, applied before any work:
/// - "all" is every backend that can run here; the others are left out with one note.
/// - A backend named that cannot run is a UsageError naming --fallback
///   (RuntimeOptions::fallback), unless `fallback`: then it is left out (in `unavailable`, for
///   the caller to note), and when none of those named can run, `fallback_node` runs instead
///   (none when it is empty).
struct BackendChoice {
  std::vector<std::string> names;
  std::vector<UnavailableNode> unavailable;  ///< named, left out under `fallback`
  std::vector<std::string> notes;            ///< what "all" left out
};
BackendChoice choose_backends(std::string_view list, const NodeRegistry& registry,
                              const NodeOptions& options, bool fallback,
                              std::string_view fallback_node = "threads");

/// The error for backend `name`, asked for by name, that cannot run here for `reason`.
UsageError cannot_run_here(std::string_view name, std::string_view reason);

}  // namespace hetero

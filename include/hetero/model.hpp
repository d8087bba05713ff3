// Throughput model: what each node achieves per (precision, mode), learned from runs and short
// calibrations, robust to outliers (median of recent samples), persisted with the hardware's
// identity.
#pragma once

#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "hetero/node.hpp"
#include "hetero/workload.hpp"

namespace hetero {

enum class ModelState : std::uint8_t { uncalibrated, calibrating, calibrated };
std::string_view to_string(ModelState state);

struct ThroughputEstimate {
  ModelState state = ModelState::uncalibrated;
  double giters = 0;  ///< median of the recent samples, 1e9 iterations per second
  int samples = 0;
};

/// The folder hetero caches measurements in: $HETERO_CACHE_DIR, else $XDG_CACHE_HOME/hetero,
/// else $HOME/.cache/hetero.
std::filesystem::path cache_directory();

class ThroughputModel {
 public:
  /// Samples kept per key; the estimate is their median.
  static constexpr std::size_t kMaxSamples = 15;

  /// An empty model that lives in memory only.
  ThroughputModel() = default;
  /// A model backed by `file`: loaded now if present, written by save(). A corrupt or
  /// foreign file is reported once on stderr and ignored (it is rebuilt on save()).
  explicit ThroughputModel(std::filesystem::path file);

  /// The process-wide model in cache_directory()/models.json.
  static ThroughputModel& shared();

  /// The node's identity in the model: the hetero build, host, backend, device (with the tile
  /// kernel of nodes that can run several) and worker count.
  static std::string identity(const NodeInfo& node);

  ThroughputEstimate estimate(const NodeInfo& node, Precision precision, Mode mode) const;
  void record(const NodeInfo& node, Precision precision, Mode mode, double giters);
  void set_calibrating(const NodeInfo& node, Precision precision, Mode mode, bool calibrating);
  /// A user kernel's throughput on the node, in 1e9 work units per second; 0 when unknown.
  /// `kernel` names the kernel and its build (what its work units mean).
  double kernel_rate(std::string_view kernel, const NodeInfo& node) const;
  void record_kernel_rate(std::string_view kernel, const NodeInfo& node, double gunits);
  /// What copies over the node's link achieved during runs of `kernel`, in 1e9 bytes per second
  /// (the bytes moved over the time spent copying): the link as the kernel's runs find it, with
  /// the other nodes of the run competing for the same memory; 0 when unknown.
  double link_rate(std::string_view kernel, const NodeInfo& node) const;
  void record_link_rate(std::string_view kernel, const NodeInfo& node, double gbps);
  /// The seconds of the node's part of a run of `kernel` that neither its computing nor its
  /// copies account for (starting up, waits between tiles): the fixed cost of taking part; 0
  /// when unknown.
  double run_overhead(std::string_view kernel, const NodeInfo& node) const;
  void record_run_overhead(std::string_view kernel, const NodeInfo& node, double seconds);
  /// Writes the model to its file (atomically) when it has samples the file lacks; a model
  /// without a file, or that learned nothing since it was loaded or saved, does nothing.
  void save() const;
  /// Load problem reported for the file, empty if none.
  const std::string& load_problem() const { return load_problem_; }

  /// Parses the persisted form; throws Error on a malformed document (not JSON, another
  /// schema, a sample that is not a plausible throughput).
  void load_json(const std::string& text);
  std::string to_json() const;

 private:
  static std::string key(const NodeInfo& node, Precision precision, Mode mode);
  void add_sample(const std::string& key, double value);
  double median_sample(const std::string& key) const;

  std::filesystem::path file_;
  mutable std::mutex mutex_;
  std::map<std::string, std::deque<double>> samples_;
  mutable bool unsaved_ = false;  ///< samples added since the file was read or written
  std::map<std::string, bool> calibrating_;
  std::string load_problem_;
};

}  // namespace hetero

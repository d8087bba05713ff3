// The throughput model and its on-disk form.
#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file_text.hpp"
#include "hetero/error.hpp"
#include "hetero/model.hpp"
#include "hetero/output.hpp"
#include "hetero/settings.hpp"
#include "hetero/version.hpp"

namespace hetero {
namespace {

// 2: samples count iterations performed (no longer those a shortcut settled), keys carry the
// build; files of version 1 are rebuilt.
constexpr int kModelSchemaVersion = 2;
// No node reaches this (a thousand times an H100's bound): a larger sample is corrupt.
constexpr double kMaxGiters = 1e6;

// Read once: every estimate and record keys on it.
const std::string& host_name() {
  static const std::string host = [] {
    char name[256] = {};
    return gethostname(name, sizeof(name) - 1) == 0 ? std::string(name) : "unknown-host";
  }();
  return host;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  // The midpoint written so that it cannot overflow near the largest doubles.
  return n % 2 == 1 ? values[n / 2] : values[n / 2 - 1] + (values[n / 2] - values[n / 2 - 1]) / 2;
}

}  // namespace

std::string_view to_string(ModelState state) {
  switch (state) {
    case ModelState::uncalibrated:
      return "uncalibrated";
    case ModelState::calibrating:
      return "calibrating";
    case ModelState::calibrated:
      return "calibrated";
  }
  return "unknown";
}

std::filesystem::path cache_directory() {
  if (const char* dir = std::getenv("HETERO_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "hetero";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "hetero";
  }
  return std::filesystem::temp_directory_path() / "hetero-cache";
}

ThroughputModel::ThroughputModel(std::filesystem::path file) : file_(std::move(file)) {
  const std::optional<std::string> text = detail::read_file_text(file_);
  if (!text) return;
  try {
    load_json(*text);
  } catch (const std::exception& e) {
    samples_.clear();
    load_problem_ = fmt::format("ignoring the throughput model in '{}' ({}); it will be rebuilt",
                                file_.string(), e.what());
    detail::log_warning(fmt::format("warning: {}", load_problem_));
  }
}

ThroughputModel& ThroughputModel::shared() {
  static ThroughputModel model(cache_directory() / "models.json");
  return model;
}

std::string ThroughputModel::identity(const NodeInfo& node) {
  return fmt::format("hetero {}/{}/{}/{}/{}", version_string, host_name(), node.name, node.device,
                     node.concurrency);
}

std::string ThroughputModel::key(const NodeInfo& node, Precision precision, Mode mode) {
  return fmt::format("{}/{}/{}", identity(node), to_string(precision), to_string(mode));
}

ThroughputEstimate ThroughputModel::estimate(const NodeInfo& node, Precision precision,
                                             Mode mode) const {
  std::lock_guard lock(mutex_);
  const std::string k = key(node, precision, mode);
  ThroughputEstimate estimate;
  if (const auto it = samples_.find(k); it != samples_.end() && !it->second.empty()) {
    estimate.state = ModelState::calibrated;
    estimate.giters = median_of({it->second.begin(), it->second.end()});
    estimate.samples = static_cast<int>(it->second.size());
  }
  if (const auto it = calibrating_.find(k); it != calibrating_.end() && it->second) {
    estimate.state = ModelState::calibrating;
  }
  return estimate;
}

void ThroughputModel::record(const NodeInfo& node, Precision precision, Mode mode, double giters) {
  if (!(giters > 0) || !(giters < kMaxGiters)) return;
  std::lock_guard lock(mutex_);
  std::deque<double>& samples = samples_[key(node, precision, mode)];
  samples.push_back(giters);
  while (samples.size() > kMaxSamples) samples.pop_front();
  unsaved_ = true;
}

double ThroughputModel::kernel_rate(std::string_view kernel, const NodeInfo& node) const {
  return median_sample(fmt::format("{}/kernel/{}", identity(node), kernel));
}

void ThroughputModel::record_kernel_rate(std::string_view kernel, const NodeInfo& node,
                                         double gunits) {
  add_sample(fmt::format("{}/kernel/{}", identity(node), kernel), gunits);
}

double ThroughputModel::link_rate(std::string_view kernel, const NodeInfo& node) const {
  return median_sample(fmt::format("{}/kernel/{}/link", identity(node), kernel));
}

void ThroughputModel::record_link_rate(std::string_view kernel, const NodeInfo& node, double gbps) {
  add_sample(fmt::format("{}/kernel/{}/link", identity(node), kernel), gbps);
}

double ThroughputModel::run_overhead(std::string_view kernel, const NodeInfo& node) const {
  return median_sample(fmt::format("{}/kernel/{}/overhead", identity(node), kernel));
}

void ThroughputModel::record_run_overhead(std::string_view kernel, const NodeInfo& node,
                                          double seconds) {
  // A part fully accounted for is a sample too (a nanosecond: samples are positive).
  add_sample(fmt::format("{}/kernel/{}/overhead", identity(node), kernel), std::max(seconds, 1e-9));
}

void ThroughputModel::add_sample(const std::string& key, double value) {
  if (!(value > 0) || !(value < kMaxGiters)) return;
  std::lock_guard lock(mutex_);
  std::deque<double>& samples = samples_[key];
  samples.push_back(value);
  while (samples.size() > kMaxSamples) samples.pop_front();
  unsaved_ = true;
}

double ThroughputModel::median_sample(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = samples_.find(key);
  if (it == samples_.end() || it->second.empty()) return 0;
  return median_of({it->second.begin(), it->second.end()});
}

void ThroughputModel::set_calibrating(const NodeInfo& node, Precision precision, Mode mode,
                                      bool calibrating) {
  std::lock_guard lock(mutex_);
  calibrating_[key(node, precision, mode)] = calibrating;
}

void ThroughputModel::load_json(const std::string& text) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("not JSON: {}", e.what()));
  }
  // Compared as JSON values: no conversion, so any type or magnitude is merely "not ours".
  if (!document.is_object() || document.value("schema", nlohmann::json()) != "hetero.models" ||
      document.value("schema_version", nlohmann::json()) != kModelSchemaVersion ||
      !document.contains("entries") || !document["entries"].is_object()) {
    throw Error(
        fmt::format("not a hetero.models document of schema version {}", kModelSchemaVersion));
  }
  std::map<std::string, std::deque<double>> loaded;
  const std::string this_build = fmt::format("hetero {}/", version_string);
  for (const auto& [name, values] : document["entries"].items()) {
    if (!values.is_array()) throw Error(fmt::format("entry '{}' is not a list", name));
    // Another build's figures may mean something else: they are left out, never mixed in.
    if (name.rfind(this_build, 0) != 0) continue;
    std::deque<double>& samples = loaded[name];
    for (const auto& value : values) {
      if (!value.is_number() || !(value.get<double>() > 0) || !(value.get<double>() < kMaxGiters)) {
        throw Error(
            fmt::format("entry '{}' holds a sample that is not a plausible throughput", name));
      }
      samples.push_back(value.get<double>());
    }
    while (samples.size() > kMaxSamples) samples.pop_front();
  }
  std::lock_guard lock(mutex_);
  samples_ = std::move(loaded);
}

std::string ThroughputModel::to_json() const {
  nlohmann::json entries = nlohmann::json::object();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, samples] : samples_) {
      entries[name] = std::vector<double>(samples.begin(), samples.end());
    }
  }
  return nlohmann::json{
      {"schema", "hetero.models"}, {"schema_version", kModelSchemaVersion}, {"entries", entries}}
      .dump(1);
}

void ThroughputModel::save() const {
  if (file_.empty()) return;
  {
    std::lock_guard lock(mutex_);
    if (!unsaved_) return;
  }
  std::error_code error;
  std::filesystem::create_directories(file_.parent_path(), error);
  try {
    OutputFile out(file_);
    out.stream() << to_json() << '\n';
    out.commit();
    std::lock_guard lock(mutex_);
    unsaved_ = false;
  } catch (const std::exception& e) {
    detail::log_warning(fmt::format("warning: could not save the throughput model: {}", e.what()));
  }
}

}  // namespace hetero

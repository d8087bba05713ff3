// Fuzz target: the throughput model file (hetero::ThroughputModel::load_json and the
// ThroughputModel(file) constructor that reads models.json).
//
// Input: the file's text, in which "$ID" stands for ThroughputModel::identity() of a probe node
// (the identity holds this machine's host name, so a corpus cannot spell it). Contracts:
//   - load_json returns or throws hetero::Error or nlohmann::json::exception (a malformed
//     document), both std::exceptions; nothing else;
//   - ThroughputModel(file) never throws: it reports a load problem exactly when load_json throws;
//   - after a successful load, to_json() loads again into the same model (a fixed point), every
//     entry keeps at most kMaxSamples finite positive samples, and estimate() of the probe node
//     is calibrated where its entry has samples, with a finite positive median that lies between
//     the smallest and largest sample.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "hetero/error.hpp"
#include "hetero/model.hpp"

namespace {

using hetero::fuzz::check;

hetero::NodeInfo probe_node() {
  hetero::NodeInfo node;
  node.name = "fuzz";
  node.device = "probe device";
  node.concurrency = 3;
  return node;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

// Whether load_json accepts `text`; any exception outside its contract escapes (a crash).
bool loads(hetero::ThroughputModel& model, const std::string& text) {
  try {
    model.load_json(text);
    return true;
  } catch (const hetero::Error&) {
    return false;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// The file the constructor reads. It exists only while it is read.
const std::filesystem::path& scratch_file() {
  static const std::filesystem::path file = hetero::fuzz::scratch_path("model.json");
  return file;
}

void check_constructor(const std::string& text, bool loaded) {
  {
    std::ofstream out(scratch_file(), std::ios::binary | std::ios::trunc);
    out << text;
  }
  bool threw = false;
  std::string problem;
  {
    const hetero::fuzz::QuietStderr quiet;  // the constructor warns about a bad file on every input
    try {
      const hetero::ThroughputModel model(scratch_file());
      problem = model.load_problem();
    } catch (...) {
      threw = true;
    }
  }
  std::error_code error;
  std::filesystem::remove(scratch_file(), error);
  check(!threw, "ThroughputModel(file) threw on a bad file instead of ignoring it");
  check(problem.empty() == loaded,
        "ThroughputModel(file) reports a load problem exactly when load_json throws");
}

void check_loaded(const hetero::ThroughputModel& model) {
  const std::string text = model.to_json();
  hetero::ThroughputModel again;
  check(loads(again, text), "load_json accepts what to_json writes");
  check(again.to_json() == text, "to_json -> load_json -> to_json is a fixed point");

  const nlohmann::json written = nlohmann::json::parse(text);
  for (const auto& [name, samples] : written["entries"].items()) {
    check(samples.size() <= hetero::ThroughputModel::kMaxSamples,
          "a loaded entry keeps at most kMaxSamples samples");
    for (const auto& sample : samples) {
      check(sample.is_number() && std::isfinite(sample.get<double>()) && sample.get<double>() > 0,
            "a loaded sample is a finite positive number");
    }
  }

  const hetero::NodeInfo node = probe_node();
  const std::string identity = hetero::ThroughputModel::identity(node);
  for (const hetero::Precision precision : {hetero::Precision::fp32, hetero::Precision::fp64}) {
    for (const hetero::Mode mode : {hetero::Mode::exact, hetero::Mode::fma}) {
      const std::string key =
          fmt::format("{}/{}/{}", identity, hetero::to_string(precision), hetero::to_string(mode));
      const hetero::ThroughputEstimate estimate = model.estimate(node, precision, mode);
      const auto entry = written["entries"].find(key);
      const bool has_samples = entry != written["entries"].end() && !entry->empty();
      check((estimate.state == hetero::ModelState::calibrated) == has_samples,
            "estimate() is calibrated exactly when the node's entry has samples");
      if (!has_samples) continue;
      check(std::isfinite(estimate.giters) && estimate.giters > 0,
            "estimate() gives a finite positive median");
      const auto [low, high] = std::minmax_element(entry->begin(), entry->end());
      check(low->get<double>() <= estimate.giters && estimate.giters <= high->get<double>(),
            "estimate() gives a median between the smallest and largest sample");
      check(estimate.samples == static_cast<int>(entry->size()),
            "estimate() counts the entry's samples");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string identity = hetero::ThroughputModel::identity(probe_node());
  const std::string text =
      replace_all(std::string(hetero::fuzz::as_text(data, size)), "$ID", identity);

  hetero::ThroughputModel model;
  const bool loaded = loads(model, text);
  check_constructor(text, loaded);
  if (loaded) check_loaded(model);
  return 0;
}

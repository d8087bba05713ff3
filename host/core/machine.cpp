// The machine model from /proc/cpuinfo: instruction set, FMA ports per microarchitecture,
// physical cores and the clock, each with its source.
#include <sched.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "hetero/machine.hpp"
#include "host_info.hpp"

namespace hetero {
namespace {

// One "processor" block of /proc/cpuinfo: its fields by name.
using Processor = std::map<std::string, std::string>;

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

std::vector<Processor> parse_processors(std::string_view text) {
  std::vector<Processor> processors;
  std::istringstream in{std::string(text)};
  Processor current;
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      if (!current.empty()) processors.push_back(std::move(current));
      current.clear();
      continue;
    }
    current[trim(std::string_view(line).substr(0, colon))] =
        trim(std::string_view(line).substr(colon + 1));
  }
  if (!current.empty()) processors.push_back(std::move(current));
  return processors;
}

int number(const Processor& processor, const std::string& field, int otherwise) {
  const auto it = processor.find(field);
  if (it == processor.end()) return otherwise;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    return otherwise;
  }
}

bool has_flag(const std::set<std::string>& flags, const char* flag) {
  return flags.count(flag) != 0;
}

struct Ports {
  int ports = 2;
  bool known = false;
  std::string basis;
};

// Vector FMA pipes per core for 512-bit (avx512) or 256-bit (avx2) operations.
Ports fma_ports(const std::string& vendor, int family, int model, const std::string& isa,
                const std::set<std::string>& flags) {
  const bool avx512 = isa == "avx512";
  if (vendor == "GenuineIntel" && family == 6) {
    if (avx512) {
      if (has_flag(flags, "amx_tile")) return {2, true, "Sapphire Rapids or later (AMX)"};
      if (model == 106 || model == 108) return {2, true, "Ice Lake-SP"};
      if (model == 125 || model == 126 || model == 140 || model == 141 || model == 167) {
        return {1, true, "client core with AVX-512 (Ice Lake, Tiger Lake, Rocket Lake)"};
      }
      if (model == 85) {
        return {2, false,
                "assumed: Skylake-SP/Cascade Lake have 2 on Gold 6000 and Platinum parts, 1 on "
                "Silver, Bronze and some Gold 5000"};
      }
      return {2, false, fmt::format("assumed: Intel family 6 model {} not in the table", model)};
    }
    static const std::set<int> kAvx2TwoPorts = {60,  63,  69,  70,  61,  71,  79,  86,  78, 94,
                                                142, 158, 165, 166, 151, 154, 183, 186, 191};
    if (kAvx2TwoPorts.count(model) != 0) return {2, true, "Intel core from Haswell on"};
    return {2, false, fmt::format("assumed: Intel family 6 model {} not in the table", model)};
  }
  if (vendor == "AuthenticAMD") {
    if (family == 23) {
      if (model < 0x30) return {1, true, "Zen or Zen+ (256-bit operations on 128-bit pipes)"};
      return {2, true, "Zen 2"};
    }
    if (family == 25) {
      if (avx512) return {1, true, "Zen 4 (512-bit operations on 256-bit pipes)"};
      return {2, true, "Zen 3"};
    }
    if (family == 26) return {2, false, "assumed: Zen 5 with full-width 512-bit pipes"};
  }
  return {2, false,
          fmt::format("assumed: {} family {} model {} not in the table", vendor, family, model)};
}

// The instruction set from the flags.
void set_isa(MachineModel& model, const std::set<std::string>& flags) {
  if (has_flag(flags, "avx512f")) {
    model.isa = "avx512";
    model.vector_bits = 512;
  } else if (has_flag(flags, "avx2") && has_flag(flags, "fma")) {
    model.isa = "avx2";
    model.vector_bits = 256;
  } else if (has_flag(flags, "sse4_1")) {
    model.isa = "sse4";
    model.vector_bits = 128;
  } else if (has_flag(flags, "sse2")) {
    model.isa = "sse2";
    model.vector_bits = 128;
  } else {
    model.isa = "scalar";
    model.vector_bits = 64;
  }
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The clock a model name states, "2.00" of "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz": the
// first "GHz" with a number before it (digits, then a dot and digits if any; spaces between).
// (A hand-written scan: compiling the equivalent std::regex costs about 0.15 ms at start-up.)
std::optional<double> ghz_in_name(std::string_view name) {
  for (auto at = name.find("GHz"); at != std::string_view::npos; at = name.find("GHz", at + 1)) {
    std::size_t end = at;
    while (end > 0 && (name[end - 1] == ' ' || name[end - 1] == '\t')) --end;
    std::size_t begin = end;
    while (begin > 0 && is_digit(name[begin - 1])) --begin;
    if (begin == end) continue;
    if (begin >= 2 && name[begin - 1] == '.' && is_digit(name[begin - 2])) {
      begin -= 2;
      while (begin > 0 && is_digit(name[begin - 1])) --begin;
    }
    return std::stod(std::string(name.substr(begin, end - begin)));
  }
  return std::nullopt;
}

void set_clock(MachineModel& model, const Processor& first) {
  // "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz": the nominal clock is in the name.
  if (const std::optional<double> ghz = ghz_in_name(model.cpu)) {
    model.ghz = *ghz;
    model.clock_source = "the model name";
    return;
  }
  if (const auto it = first.find("cpu MHz"); it != first.end()) {
    try {
      model.ghz = std::stod(it->second) / 1000.0;
      model.clock_source =
          "cpu MHz of /proc/cpuinfo (the current clock; a hypervisor's nominal one in a VM)";
      return;
    } catch (const std::exception&) {
    }
  }
  model.ghz = 2.0;
  model.clock_source = "assumed: no clock in /proc/cpuinfo";
}

}  // namespace

MachineModel machine_from_cpuinfo(std::string_view cpuinfo, const std::vector<int>& allowed) {
  std::vector<Processor> processors;
  for (Processor& processor : parse_processors(cpuinfo)) {
    const int index = number(processor, "processor", -1);
    if (allowed.empty() || std::find(allowed.begin(), allowed.end(), index) != allowed.end()) {
      processors.push_back(std::move(processor));
    }
  }
  MachineModel model;
  const Processor first = processors.empty() ? Processor{} : processors.front();
  model.cpu = first.count("model name") ? first.at("model name") : std::string("unknown CPU");
  model.hardware_threads = std::max<int>(1, static_cast<int>(processors.size()));

  std::set<std::pair<int, int>> cores;
  bool topology = !processors.empty();
  for (const Processor& processor : processors) {
    const int package = number(processor, "physical id", -1);
    const int core = number(processor, "core id", -1);
    if (package < 0 || core < 0) topology = false;
    cores.emplace(package, core);
  }
  if (topology) {
    model.cores = static_cast<int>(cores.size());
    model.cores_basis = "physical id and core id of /proc/cpuinfo";
  } else {
    model.cores = model.hardware_threads;
    model.cores_basis = "assumed one core per hardware thread: no topology in /proc/cpuinfo";
  }

  std::set<std::string> flags;
  if (const auto it = first.find("flags"); it != first.end()) {
    std::istringstream words(it->second);
    for (std::string flag; words >> flag;) flags.insert(flag);
  }
  set_isa(model, flags);
  if (model.isa == "avx512" || model.isa == "avx2") {
    const auto vendor = first.count("vendor_id") ? first.at("vendor_id") : std::string();
    const Ports ports = fma_ports(vendor, number(first, "cpu family", -1),
                                  number(first, "model", -1), model.isa, flags);
    model.fma_ports = ports.ports;
    model.fma_ports_known = ports.known;
    model.fma_ports_basis = ports.basis;
  } else {
    model.fma_ports = 1;
    model.fma_ports_known = false;
    model.fma_ports_basis = "assumed: no FMA, one multiply and one add per cycle";
  }
  set_clock(model, first);
  return model;
}

const MachineModel& host_machine() {
  static const MachineModel model = [] {
    std::vector<int> allowed;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) allowed.push_back(cpu);
      }
    }
    MachineModel detected = machine_from_cpuinfo(detail::proc_cpuinfo(), allowed);
    if (detected.cpu == "unknown CPU") detected.cpu = detail::host_cpu_name();
    return detected;
  }();
  return model;
}

}  // namespace hetero

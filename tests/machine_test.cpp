// The machine model against saved /proc/cpuinfo texts of a few CPUs (tests/data/cpuinfo): physical
// cores from the topology, FMA ports per known microarchitecture or marked assumed, the clock
// with its source; and the limit it gives.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/file_text.hpp"
#include "core/host_info.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

#ifndef HETERO_TEST_DATA_DIR
#define HETERO_TEST_DATA_DIR ""
#endif

MachineModel model_of(const std::string& name, const std::vector<int>& allowed = {}) {
  const std::filesystem::path file = std::filesystem::path(HETERO_TEST_DATA_DIR) / "cpuinfo" / name;
  const std::string text = test::read_text(file);
  EXPECT_FALSE(text.empty()) << file;
  return machine_from_cpuinfo(text, allowed);
}

TEST(MachineModel, KvmGuestOnSapphireRapids) {
  const MachineModel m = model_of("kvm_sapphire_rapids_2vcpu");
  EXPECT_EQ(m.isa, "avx512");
  EXPECT_EQ(m.vector_bits, 512);
  EXPECT_EQ(m.fma_ports, 2);  // AMX marks Sapphire Rapids, whatever model number the VM shows
  EXPECT_TRUE(m.fma_ports_known) << m.fma_ports_basis;
  EXPECT_EQ(m.cores, 2);
  EXPECT_EQ(m.hardware_threads, 2);
  EXPECT_NEAR(m.ghz, 2.6, 1e-3);
  EXPECT_NE(m.clock_source.find("cpu MHz"), std::string::npos) << m.clock_source;
  EXPECT_NEAR(m.peak_giters(Precision::fp64), 2 * 8 * 2 * 2.599998 / 7, 1e-9);
}

TEST(MachineModel, SmtThreadsShareTheirCoresPorts) {
  const MachineModel m = model_of("xeon_gold_6338_smt");
  EXPECT_EQ(m.hardware_threads, 4);
  EXPECT_EQ(m.cores, 2) << "two hardware threads of one core count once";
  EXPECT_EQ(m.fma_ports, 2);
  EXPECT_TRUE(m.fma_ports_known);
  EXPECT_DOUBLE_EQ(m.ghz, 2.0);
  EXPECT_EQ(m.clock_source, "the model name");
  EXPECT_DOUBLE_EQ(m.peak_giters(Precision::fp64), m.peak_giters_per_core(Precision::fp64) * 2);
  // A process allowed on both threads of one core has one core's ports.
  EXPECT_EQ(model_of("xeon_gold_6338_smt", {1, 3}).cores, 1);
  EXPECT_EQ(model_of("xeon_gold_6338_smt", {0, 1}).cores, 2);
}

TEST(MachineModel, AmdZen3) {
  const MachineModel m = model_of("epyc_7b13_smt");
  EXPECT_EQ(m.isa, "avx2");
  EXPECT_EQ(m.fma_ports, 2);
  EXPECT_TRUE(m.fma_ports_known);
  EXPECT_EQ(m.cores, 1);
  EXPECT_NEAR(m.ghz, 2.45, 1e-9);
}

// The clock a model name states: the number right before the first "GHz" that has one.
TEST(MachineModel, TheClockInTheModelNameIsTheNumberBeforeGHz) {
  const auto clock_of = [](const std::string& name) {
    return machine_from_cpuinfo(
        "processor\t: 0\nmodel name\t: " + name + "\ncpu MHz\t\t: 1234.5\n\n", {});
  };
  for (const auto& [name, ghz] : std::vector<std::pair<std::string, double>>{
           {"Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", 2.0},
           {"Some CPU 3.5 GHz", 3.5},
           {"Some CPU 4GHz", 4.0},
           {"GHz-class CPU @ 2.75GHz", 2.75},
           {"Odd 1.2.3GHz", 2.3},
           {"Odd .5GHz", 5.0}}) {
    const MachineModel m = clock_of(name);
    EXPECT_DOUBLE_EQ(m.ghz, ghz) << name;
    EXPECT_EQ(m.clock_source, "the model name") << name;
  }
  for (const std::string name : {"Intel(R) Xeon(R) Processor", "A GHz-class CPU", "GHz"}) {
    const MachineModel m = clock_of(name);
    EXPECT_DOUBLE_EQ(m.ghz, 1.2345) << name;
    EXPECT_NE(m.clock_source.find("cpu MHz"), std::string::npos) << name;
  }
}

TEST(MachineModel, AnUncertainPartIsMarkedAssumed) {
  const MachineModel m = model_of("xeon_skylake_sp");
  EXPECT_EQ(m.fma_ports, 2);
  EXPECT_FALSE(m.fma_ports_known);
  EXPECT_EQ(m.fma_ports_basis.rfind("assumed", 0), 0U) << m.fma_ports_basis;
  EXPECT_DOUBLE_EQ(m.ghz, 2.5);
}

TEST(MachineModel, WithoutTopologyFlagsOrClockEverythingSaysAssumed) {
  const MachineModel m = model_of("no_topology");
  EXPECT_EQ(m.isa, "scalar");
  EXPECT_EQ(m.cores, 2);
  EXPECT_EQ(m.cores_basis.rfind("assumed", 0), 0U) << m.cores_basis;
  EXPECT_FALSE(m.fma_ports_known);
  EXPECT_DOUBLE_EQ(m.ghz, 2.0);
  EXPECT_EQ(m.clock_source.rfind("assumed", 0), 0U) << m.clock_source;
}

TEST(MachineModel, ThisHostHasAModelWithItsSources) {
  const MachineModel& m = host_machine();
  EXPECT_GE(m.cores, 1);
  EXPECT_LE(m.cores, m.hardware_threads);
  EXPECT_GT(m.ghz, 0);
  EXPECT_FALSE(m.clock_source.empty());
  EXPECT_FALSE(m.fma_ports_basis.empty());
}

TEST(FileText, ReadsAWholeFileAcrossChunksAndProcFilesWhoseSizeIsUnknown) {
  const std::filesystem::path folder = test::make_temporary_directory();
  const std::filesystem::path file = folder / "text";
  std::string text;
  for (int i = 0; text.size() < 40000; ++i) text += std::to_string(i) + ' ';  // several chunks
  std::ofstream(file, std::ios::binary) << text;
  EXPECT_EQ(detail::read_file_text(file), text);
  std::ofstream(file, std::ios::trunc).close();
  EXPECT_EQ(detail::read_file_text(file), std::string());
  EXPECT_EQ(detail::read_file_text(folder), std::nullopt);  // a folder opens, but cannot be read
  std::filesystem::remove_all(folder);
  EXPECT_EQ(detail::read_file_text(file), std::nullopt);
  const std::optional<std::string> status = detail::read_file_text("/proc/self/status");
  ASSERT_TRUE(status.has_value());
  EXPECT_NE(status->find("Name:"), std::string::npos);
  EXPECT_EQ(status->back(), '\n');
}

// MemAvailable from /proc/meminfo, read here with a stream: the two readings are moments apart,
// so they agree within 5%.
TEST(FileText, ALimitReadsTheHeadOnly) {
  const std::filesystem::path folder = test::make_temporary_directory();
  const std::filesystem::path file = folder / "text";
  const std::string text(10000, 'x');
  std::ofstream(file, std::ios::binary) << text;
  EXPECT_EQ(detail::read_file_text(file, 0), std::string());
  EXPECT_EQ(detail::read_file_text(file, 10), text.substr(0, 10));
  EXPECT_EQ(detail::read_file_text(file, 5000), text.substr(0, 5000));  // across chunks
  EXPECT_EQ(detail::read_file_text(file, 20000), text);
  std::filesystem::remove_all(folder);
}

// The CPU's name is read from the head of /proc/cpuinfo: it must be the name a whole reading
// gives, never a line cut off at the head's end.
TEST(FileText, TheCpuNameIsTheFirstRecordsModelName) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string expected = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      expected = line.substr(line.find(':') + 2);
      break;
    }
  }
  EXPECT_EQ(detail::host_cpu_name(), expected);
}

TEST(FileText, AvailableHostMemoryIsMemAvailable) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  std::uint64_t kib = 0;
  while (meminfo >> key >> kib >> unit && key != "MemAvailable:") {
  }
  ASSERT_EQ(key, "MemAvailable:");
  const auto expected = static_cast<double>(kib) * 1024;
  const auto available = static_cast<double>(available_host_bytes());
  EXPECT_NEAR(available, expected, expected * 0.05);
}

// Small needs are answered from free memory, large ones against MemAvailable.
TEST(FileText, ANeedFitsInHostMemoryUpToWhatIsAvailable) {
  EXPECT_TRUE(fits_in_host_memory(0));
  EXPECT_TRUE(fits_in_host_memory(1 << 20));
  const std::uint64_t available = available_host_bytes();
  EXPECT_FALSE(fits_in_host_memory(available * 2));
  EXPECT_FALSE(fits_in_host_memory(std::numeric_limits<std::uint64_t>::max()));
}

}  // namespace
}  // namespace hetero

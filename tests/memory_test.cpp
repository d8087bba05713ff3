// The device memory cap: parsing --device-memory and capped memory spaces. How device nodes run
// tiles that do not fit is tested in device_memory_test.cpp.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/parse.hpp"
#include "hetero/hetero.hpp"

namespace hetero {
namespace {

TEST(MemoryCap, ParsesPercentagesAndBinaryByteCounts) {
  struct Case {
    const char* text;
    double fraction;
    std::uint64_t bytes;
  };
  const std::vector<Case> cases = {
      {"90%", 0.9, 0},           {"100%", 1.0, 0},          {"0.5%", 0.005, 0},
      {"100", 0.9, 100},         {"1048576", 0.9, 1 << 20}, {"64K", 0.9, 64 << 10},
      {"64k", 0.9, 64 << 10},    {"64KiB", 0.9, 64 << 10},  {"512M", 0.9, 512 << 20},
      {"1.5G", 0.9, 3ULL << 29}, {"2GiB", 0.9, 2ULL << 30}, {"1T", 0.9, 1ULL << 40},
      {"100B", 0.9, 100},        {"+8M", 0.9, 8 << 20},
  };
  for (const Case& c : cases) {
    const MemoryCap cap = parse_memory_cap("--device-memory", c.text);
    EXPECT_DOUBLE_EQ(cap.fraction, c.fraction) << c.text;
    EXPECT_EQ(cap.bytes, c.bytes) << c.text;
  }
}

TEST(MemoryCap, RejectsAnythingElseInOneLineNamingTheOption) {
  for (const char* text : {"",       "0",    "-1",   "0.5",  "lots",      "5X",  "M",     "%",
                           "0%",     "-5%",  "101%", "nan%", "4.9e-324%", "inf", "1e300", "2048T",
                           "12..5M", "90 %", "1 G",  "0x10", "50",        "1",   "99.5"}) {
    try {
      parse_memory_cap("--device-memory", text);
      ADD_FAILURE() << "'" << text << "' was accepted";
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("--device-memory: ", 0), 0U) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(MemoryCap, IsTheBytesGivenOrAShareOfTheFreeMemory) {
  EXPECT_EQ(MemoryCap{}.of(1000), 900U) << "the default is 90% of free memory";
  EXPECT_EQ((MemoryCap{0.5, 0}).of(1001), 500U);
  EXPECT_EQ((MemoryCap{0.5, 4096}).of(1001), 4096U) << "bytes, when given, win";
}

// Host memory behind a capped space, to test the cap without a device.
class CappedSpace final : public MemorySpace {
 public:
  std::string_view name() const override { return "test space"; }
  void* allocate(std::size_t bytes) override {
    claim(bytes);
    return std::malloc(bytes);
  }
  void deallocate(void* pointer, std::size_t bytes) noexcept override {
    std::free(pointer);
    release(bytes);
  }
  void copy_from_host(void*, const void*, std::size_t) override {}
  void copy_to_host(void*, const void*, std::size_t) override {}
};

TEST(MemoryCap, SpaceRefusesAllocationsPastItsCapNamingTheBytes) {
  CappedSpace space;
  EXPECT_EQ(space.limit(), MemorySpace::kUnlimited);
  EXPECT_EQ(HostSpace::instance().limit(), MemorySpace::kUnlimited);
  space.set_limit(1000);
  std::optional<Buffer<char>> first(std::in_place, space, 600);
  try {
    Buffer<char> second(space, 500);
    ADD_FAILURE() << "600 + 500 bytes fit a 1000-byte cap";
  } catch (const OutOfMemory& e) {
    EXPECT_EQ(e.requested(), 500U);
    const std::string message = e.what();
    EXPECT_NE(message.find("test space: cannot allocate 500 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("600 of its 1000-byte"), std::string::npos) << message;
    EXPECT_NE(message.find("--device-memory"), std::string::npos) << message;
  }
  EXPECT_EQ(space.bytes_in_use(), 600U) << "a refused allocation is not counted";
  Buffer<char> fits(space, 400);
  EXPECT_EQ(space.bytes_in_use(), 1000U);
  EXPECT_THROW(Buffer<char>(space, 1), OutOfMemory);
  first.reset();
  Buffer<char> after_free(space, 500);
  EXPECT_EQ(space.bytes_in_use(), 900U);
  EXPECT_EQ(space.peak_bytes(), 1000U);
}

}  // namespace
}  // namespace hetero

// The hetero command-line tool, driven as a user drives it: good runs and every bad input.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "hetero/version.hpp"

#include "test_support.hpp"

extern char** environ;

namespace hetero {
namespace {

#ifndef HETERO_CLI_PATH
#define HETERO_CLI_PATH ""
#endif

struct CliResult {
  int status = -1;
  std::string out, err;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(HETERO_CLI_PATH).empty()) GTEST_SKIP() << "the CLI is not built";
    folder_ = std::filesystem::temp_directory_path() /
              ("hetero-cli-" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  // Runs the CLI with `args` (shell words), `environment` (NAME=VALUE words) added, and
  // captures its status and streams.
  CliResult cli(const std::string& args, const std::string& environment = "") const {
    const auto out = folder_ / "stdout.txt";
    const auto err = folder_ / "stderr.txt";
    const std::string command = "env " + environment + " '" + HETERO_CLI_PATH + "' " + args +
                                " >'" + out.string() + "' 2>'" + err.string() + "' </dev/null";
    const int raw = std::system(command.c_str());
    CliResult result;
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    result.out = read_file(out);
    result.err = read_file(err);
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    return result;
  }
  std::size_t files_in_folder() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(folder_),
                                                  std::filesystem::directory_iterator()));
  }

  std::filesystem::path folder_;
};

TEST_F(CliTest, RenderReportsTheSeedChecksumAsJsonAlone) {
  const CliResult result = cli("render --preset seed --backend serial --json -");
  ASSERT_EQ(result.status, 0) << result.err;
  const auto report = nlohmann::json::parse(result.out);  // stdout carries the JSON alone
  EXPECT_EQ(report["checksum"]["sum"].get<std::uint64_t>(), 51214485U);
  EXPECT_EQ(report["checksum"]["hash"].get<std::string>().size(), 16U);
  EXPECT_EQ(report["nodes"][0]["name"], "serial");
}

TEST_F(CliTest, RenderWritesImageReportAndTrace) {
  const auto png = folder_ / "seed.png";
  const auto json = folder_ / "report.json";
  const auto trace = folder_ / "trace.json";
  const CliResult result =
      cli("render --backend threads,serial --width 120 --height 90 --out '" + png.string() +
          "' --json '" + json.string() + "' --trace '" + trace.string() + "'");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.out.find("checksum sum"), std::string::npos) << result.out;
  EXPECT_EQ(read_file(png).substr(1, 3), "PNG");
  EXPECT_EQ(nlohmann::json::parse(read_file(json))["nodes"].size(), 2U);
  EXPECT_FALSE(nlohmann::json::parse(read_file(trace))["traceEvents"].empty());
  EXPECT_EQ(files_in_folder(), 3U);  // no temporary files left
}

TEST_F(CliTest, HeatGivesOneChecksumOnEveryBackendAndDrawsItsField) {
  const auto png = folder_ / "heat.png";
  const std::string run = "render --workload heat --size 48x40 --steps 12 --json - --backend ";
  const CliResult serial = cli(run + "serial --out '" + png.string() + "'");
  ASSERT_EQ(serial.status, 0) << serial.err;
  const auto reference = nlohmann::json::parse(serial.out)["checksum"];
  EXPECT_EQ(read_file(png).substr(1, 3), "PNG");
  const bool opencl = NodeRegistry::builtin().describe("opencl").available;
  for (const std::string& backends :
       {std::string("threads"),
        std::string(opencl ? "threads,opencl --share" : "serial,threads")}) {
    const CliResult other = cli(run + backends);
    ASSERT_EQ(other.status, 0) << backends << ": " << other.err;
    const auto report = nlohmann::json::parse(other.out);
    EXPECT_EQ(report["checksum"], reference) << backends;
    EXPECT_EQ(report["kernel"], "heat");
  }
}

TEST_F(CliTest, HeatResumedFromACheckpointEndsWithTheUninterruptedChecksum) {
  const auto checkpoint = folder_ / "heat.ck";
  const std::string heat = "render --workload heat --size 40x30 --json - ";
  const CliResult whole = cli(heat + "--steps 16");
  ASSERT_EQ(whole.status, 0) << whole.err;
  const CliResult first =
      cli(heat + "--steps 10 --checkpoint-every 4 --journal '" + checkpoint.string() + "'");
  ASSERT_EQ(first.status, 0) << first.err;
  const CliResult rest = cli(heat + "--steps 16 --resume '" + checkpoint.string() + "'");
  ASSERT_EQ(rest.status, 0) << rest.err;
  EXPECT_EQ(nlohmann::json::parse(rest.out)["checksum"],
            nlohmann::json::parse(whole.out)["checksum"]);
  // Steps 9 to 16 ran: 40x30 cells each.
  EXPECT_EQ(nlohmann::json::parse(rest.out)["iterations"].get<std::uint64_t>(), 8U * 40 * 30);
}

TEST_F(CliTest, TriadIsPlannedOnceEveryNodesRateIsKnownAndExplainsThePlan) {
  // Three runs: the first teaches the model each node's rate (a fresh cache directory), the
  // later ones are planned; --explain prints each plan before its run.
  const CliResult result =
      cli("render --workload triad --size 16000000 --steps 3 --backend serial,threads --share "
          "--explain --json -");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.err.find("plan: serial takes"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("plan: threads takes"), std::string::npos) << result.err;
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report["kernel"], "triad");
  for (const auto& node : report["nodes"]) {
    EXPECT_GT(node["predicted_s"].get<double>(), 0) << node["name"];
    EXPECT_GT(node["finished_s"].get<double>(), 0) << node["name"];
  }
}

// project without a measured rank link (outside mpirun) projects over an assumed one, says so
// once on stderr and records it; a link given is used as given; half a link is refused.
TEST_F(CliTest, ProjectAssumesALinkOutsideMpirunAndSaysSo) {
  const CliResult assumed = cli("project --preset seed --ranks 1,2 --json -");
  ASSERT_EQ(assumed.status, 0) << assumed.err;
  EXPECT_NE(assumed.err.find("projecting over an assumed 10 Gb Ethernet link"), std::string::npos)
      << assumed.err;
  const auto document = nlohmann::json::parse(assumed.out);
  EXPECT_FALSE(document["hetero_version"].get<std::string>().empty());
  EXPECT_FALSE(document["host"]["cpu"].get<std::string>().empty());
  const auto model = document["model"];
  EXPECT_EQ(model["link_source"], "assumed 10 Gb Ethernet");
  EXPECT_DOUBLE_EQ(model["latency_s"].get<double>(), 50e-6);
  EXPECT_DOUBLE_EQ(model["bytes_per_s"].get<double>(), 1.25e9);

  const CliResult given =
      cli("project --preset seed --ranks 1,2 --latency-us 5 --bandwidth-gbs 10 --json -");
  ASSERT_EQ(given.status, 0) << given.err;
  EXPECT_EQ(given.err.find("assumed"), std::string::npos) << given.err;
  const auto given_model = nlohmann::json::parse(given.out)["model"];
  EXPECT_EQ(given_model["link_source"], "given");
  EXPECT_DOUBLE_EQ(given_model["latency_s"].get<double>(), 5e-6);

  const CliResult half = cli("project --preset seed --latency-us 5");
  EXPECT_EQ(half.status, 2) << half.err;
  EXPECT_NE(half.err.find("go together"), std::string::npos) << half.err;
}

// compare and scale say on a terminal which point runs, n of m, the time elapsed and the time
// left; without a terminal they say nothing of it.
TEST_F(CliTest, CompareAndScaleShowTheirProgressOnATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no `script` (util-linux) to give the CLI a terminal";
  }
  const auto on_terminal = [&](const std::string& args) {
    const auto typescript = folder_ / "terminal.txt";
    const std::string command = "script -qec \"'" + std::string(HETERO_CLI_PATH) + "' " + args +
                                "\" '" + typescript.string() + "' >/dev/null 2>&1 </dev/null";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return read_file(typescript);
  };
  const std::string job = "--preset seed --width 64 --height 64 --repeat 1";
  const std::string compared = on_terminal("compare " + job + " --backend serial,threads");
  EXPECT_NE(compared.find("compare: [1/2] serial alone, 1 warm-up + 1 timed runs; "),
            std::string::npos)
      << compared;
  EXPECT_NE(compared.find("compare: [2/2] threads alone"), std::string::npos) << compared;
  EXPECT_NE(compared.find(" s elapsed, about "), std::string::npos) << compared;
  const std::string scaled = on_terminal("scale " + job + " --backend threads --workers 1,2");
  EXPECT_NE(scaled.find("scale: [1/3] baseline: serial, 1 worker"), std::string::npos) << scaled;
  EXPECT_NE(scaled.find("scale: [3/3] strong scaling of threads, 2 workers"), std::string::npos)
      << scaled;

  const CliResult piped = cli("compare " + job + " --backend serial,threads");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.err.find("compare: ["), std::string::npos) << piped.err;
}

// `devices` wraps its lines at the terminal's width ($COLUMNS here) and loses no word.
TEST_F(CliTest, DevicesWrapsItsLinesAtTheTerminalWidth) {
  const CliResult narrow = cli("devices", "COLUMNS=80");
  const CliResult wide = cli("devices", "COLUMNS=1000");
  ASSERT_EQ(narrow.status, 0) << narrow.err;
  ASSERT_EQ(wide.status, 0) << wide.err;
  const auto lines_of = [](const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  const auto words_of = [](const std::string& text) {
    std::vector<std::string> words;
    std::istringstream in(text);
    for (std::string word; in >> word;) words.push_back(word);
    return words;
  };
  for (const std::string& line : lines_of(narrow.out)) {
    if (line.size() <= 80) continue;
    // Only a word longer than a whole line may pass the width: it stands alone on its line.
    const std::size_t first = line.find_first_not_of(' ');
    EXPECT_EQ(line.find(' ', first), std::string::npos) << line;
  }
  EXPECT_GT(lines_of(narrow.out).size(), lines_of(wide.out).size());
  EXPECT_EQ(words_of(narrow.out), words_of(wide.out));
}

// render says what it computes before it computes: the job's line comes first, even from a run
// that then fails, and the table after the run opens with the tiles it chose.
TEST_F(CliTest, RenderPrintsItsJobBeforeTheRun) {
  const CliResult done = cli("render --preset seed --width 64 --height 64 --backend serial");
  ASSERT_EQ(done.status, 0) << done.err;
  EXPECT_EQ(done.out.substr(0, done.out.find('\n')),
            "seed 64x64, max-iter 1000, fp64 exact, policy dynamic");
  const std::string second = done.out.substr(done.out.find('\n') + 1);
  EXPECT_EQ(second.rfind("tile ", 0), 0U) << done.out;

  const CliResult failed = cli("render --preset seed --width 64 --height 64 --backend serial",
                               "HETERO_INJECT_FAULT=serial:0");
  EXPECT_EQ(failed.status, 1) << failed.err;
  EXPECT_EQ(failed.out, "seed 64x64, max-iter 1000, fp64 exact, policy dynamic\n");
}

// A node option that none of the chosen nodes uses is said once on stderr, and the run goes on.
TEST_F(CliTest, NodeOptionsNoChosenNodeUsesAreNoted) {
  const CliResult unused =
      cli("render --preset seed --width 64 --height 64 --backend serial --threads 2 --device 1 "
          "--device-memory 50% --quiet");
  ASSERT_EQ(unused.status, 0) << unused.err;
  EXPECT_NE(unused.err.find("--threads 2 is not used: serial runs a fixed number of workers"),
            std::string::npos)
      << unused.err;
  EXPECT_NE(unused.err.find("--device 1 is not used: serial has no device"), std::string::npos)
      << unused.err;
  EXPECT_NE(unused.err.find("--device-memory 50% is not used"), std::string::npos) << unused.err;

  const CliResult used =
      cli("render --preset seed --width 64 --height 64 --backend serial,threads --threads 2 "
          "--quiet");
  ASSERT_EQ(used.status, 0) << used.err;
  EXPECT_EQ(used.err.find("not used"), std::string::npos) << used.err;

  const CliResult compared =
      cli("compare --preset seed --width 64 --height 64 --backend simd --device 0 --repeat 1");
  ASSERT_EQ(compared.status, 0) << compared.err;
  EXPECT_NE(compared.err.find("--device 0 is not used: simd has no device"), std::string::npos)
      << compared.err;
}

// A figure that was not measured is null in the JSON, never 0: a host node's copy rate and
// device memory cap, a prediction under a policy that does not plan, one worker's Karp-Flatt.
TEST_F(CliTest, FiguresNotMeasuredAreNullInTheJson) {
  const CliResult render = cli("render --preset seed --backend threads --policy dynamic --json -");
  ASSERT_EQ(render.status, 0) << render.err;
  const auto node = nlohmann::json::parse(render.out)["nodes"][0];
  for (const char* key :
       {"copy_gb_per_s", "device_memory_cap_bytes", "predicted_s", "finished_s"}) {
    EXPECT_TRUE(node[key].is_null()) << key << ": " << node[key];
  }
  EXPECT_GT(node["busy_s"].get<double>(), 0);  // what was measured is a number

  const CliResult scale =
      cli("scale --preset seed --backend threads --workers 1,2 --repeat 1 --json -");
  ASSERT_EQ(scale.status, 0) << scale.err;
  const auto points = nlohmann::json::parse(scale.out)["studies"][0]["points"];
  ASSERT_EQ(points.size(), 2U);
  EXPECT_TRUE(points[0]["karp_flatt"].is_null()) << points[0];
  EXPECT_TRUE(points[1]["karp_flatt"].is_number()) << points[1];
}

TEST_F(CliTest, WorkloadsListsEachWorkloadWithItsOptions) {
  const CliResult result = cli("workloads");
  ASSERT_EQ(result.status, 0) << result.err;
  for (const std::string expected :
       {"mandelbrot  ", "heat  ", "triad  ", "--steps N", "--checkpoint-every K", "--size N"}) {
    EXPECT_NE(result.out.find(expected), std::string::npos) << expected;
  }
}

TEST_F(CliTest, CompareRunsAWorkloadOnEachBackendAgainstSerial) {
  const CliResult result =
      cli("compare --workload heat --size 40x30 --steps 5 --repeat 2 --backend serial,threads "
          "--json -");
  ASSERT_EQ(result.status, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  EXPECT_EQ(document["schema"], "hetero.compare_workload");
  ASSERT_EQ(document["backends"].size(), 2U);
  for (const auto& row : document["backends"]) {
    EXPECT_TRUE(row["identical_to_serial"].get<bool>()) << row.dump();
    const auto& wall = row["wall_s"];
    ASSERT_EQ(wall["runs_s"].size(), 2U);
    const double first = wall["runs_s"][0], second = wall["runs_s"][1];
    EXPECT_DOUBLE_EQ(wall["mean_s"].get<double>(), (first + second) / 2);
    EXPECT_DOUBLE_EQ(wall["median_s"].get<double>(), (first + second) / 2);
    EXPECT_DOUBLE_EQ(wall["stddev_s"].get<double>(), std::abs(first - second) / std::sqrt(2.0));
    EXPECT_GT(row["gunits_per_s"].get<double>(), 0);
  }
}

// scale --workload heat: strong and weak studies of the kernel workload, the weak one's grid
// growing with the workers, each point's field identical to its reference, and each node's
// share of wall time on its link.
TEST_F(CliTest, ScaleStudiesAWorkloadStrongAndWeak) {
  const CliResult result =
      cli("scale --workload heat --size 40x30 --steps 4 --backend threads --workers 1,2 "
          "--study both --repeat 1 --warmup 0 --json -");
  ASSERT_EQ(result.status, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  EXPECT_EQ(document["workload"], "heat");
  EXPECT_EQ(document["policy"], "static");
  ASSERT_EQ(document["studies"].size(), 2U);
  for (const auto& study : document["studies"]) {
    ASSERT_EQ(study["points"].size(), 2U) << study.dump();
    const bool weak = study["study"] == "weak";
    for (const auto& point : study["points"]) {
      EXPECT_TRUE(point["identical_to_reference"].get<bool>()) << point.dump();
      const int workers = point["workers"];
      EXPECT_EQ(point["size"], weak ? 30 * workers : 30) << point.dump();
      EXPECT_EQ(point["iterations"], 40 * point["size"].get<int>() * 4) << point.dump();
      ASSERT_TRUE(point["link_share"].contains("threads")) << point.dump();
      EXPECT_GE(point["link_share"]["threads"].get<double>(), 0.0);
    }
  }
}

// One convention for backend lists: '+' and ',' both join the nodes of render's one set, and
// NAME:DEVICE gives one node its device.
TEST_F(CliTest, ABackendListJoinsNodesWithPlusOrCommaAndNamesDevicesPerNode) {
  const std::string job = "render --preset seed --width 60 --height 40 --json - --backend ";
  const CliResult commas = cli(job + "serial,threads --policy static");
  const CliResult plus = cli(job + "serial+threads --policy static");
  ASSERT_EQ(commas.status, 0) << commas.err;
  ASSERT_EQ(plus.status, 0) << plus.err;
  const auto a = nlohmann::json::parse(commas.out), b = nlohmann::json::parse(plus.out);
  ASSERT_EQ(b["nodes"].size(), 2U);
  EXPECT_EQ(a["nodes"][0]["name"], b["nodes"][0]["name"]);
  EXPECT_EQ(a["nodes"][1]["name"], b["nodes"][1]["name"]);
  EXPECT_EQ(a["checksum"], b["checksum"]);
  if (!NodeRegistry::builtin().describe("opencl").available) return;
  const CliResult device = cli(job + "opencl:0,threads --share");
  ASSERT_EQ(device.status, 0) << device.err;
  const auto report = nlohmann::json::parse(device.out);
  EXPECT_EQ(report["nodes"][0]["name"], "opencl");
  EXPECT_EQ(report["checksum"], a["checksum"]);
}

TEST_F(CliTest, HelpShowsWhatEachOptionTakes) {
  for (const std::string command : {"render", "compare", "scale", "project", "probe"}) {
    const CliResult help = cli(command + " --help");
    ASSERT_EQ(help.status, 0) << command;
    EXPECT_EQ(help.out.find(" TEXT"), std::string::npos) << command << ":\n" << help.out;
  }
  const CliResult render = cli("render --help");
  EXPECT_NE(render.out.find("--policy static|weighted|dynamic|guided|auto"), std::string::npos);
  EXPECT_NE(render.out.find("--json FILE|-"), std::string::npos);
}

TEST_F(CliTest, DevicesListsEveryBackendWithAStateOrReason) {
  const CliResult result = cli("devices");
  ASSERT_EQ(result.status, 0) << result.err;
  for (const std::string& name : NodeRegistry::builtin().names()) {
    EXPECT_NE(result.out.find("\n" + name + " "), std::string::npos) << name;
  }
  const CliResult json = cli("devices --json");
  ASSERT_EQ(json.status, 0);
  const auto devices = nlohmann::json::parse(json.out);
  EXPECT_EQ(devices["backends"].size(), NodeRegistry::builtin().names().size());
  EXPECT_EQ(devices["schema"], "hetero.devices");
  EXPECT_EQ(devices["schema_version"], 1);
}

TEST_F(CliTest, DevicesListsTheThrustSystemsAndTheOpenMPOneRendersTheSeed) {
  if (!NodeRegistry::builtin().describe("thrust:omp").available) {
    GTEST_SKIP() << "thrust:omp is unavailable: "
                 << NodeRegistry::builtin().describe("thrust:omp").reason;
  }
  const CliResult devices = cli("devices", "COLUMNS=1000");
  ASSERT_EQ(devices.status, 0) << devices.err;
  const std::size_t thrust = devices.out.find("\nthrust ");
  ASSERT_NE(thrust, std::string::npos);
  EXPECT_NE(devices.out.find("OpenMP system", thrust), std::string::npos) << devices.out;
  EXPECT_NE(devices.out.find("thrust:omp", thrust), std::string::npos) << devices.out;
  for (const std::string& backend :
       {std::string("thrust:omp"), std::string("thrust --device omp")}) {
    const CliResult seed = cli("render --preset seed --json - --backend " + backend);
    ASSERT_EQ(seed.status, 0) << seed.err;
    EXPECT_EQ(nlohmann::json::parse(seed.out)["checksum"]["sum"].get<std::uint64_t>(),
              test::kSeedSum)
        << backend;
  }
}

TEST_F(CliTest, CompareRunsEveryAvailableBackendAgainstSerial) {
  const CliResult result = cli("compare --preset seed --width 60 --height 40 --repeat 1 --json -");
  ASSERT_EQ(result.status, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  ASSERT_FALSE(document["backends"].empty());
  EXPECT_EQ(document["backends"][0]["backend"], "serial");
  EXPECT_EQ(document["warmup"].get<int>(), 1) << "an untimed run before the timed ones";
  for (const auto& row : document["backends"]) {
    EXPECT_TRUE(row["identical_to_serial"].get<bool>()) << row["backend"];
    EXPECT_GT(row["speedup_over_published_python_time"].get<double>(), 0);
    // The host's limit is a bound only for rows on the host's cores.
    const NodeInfo info = NodeRegistry::builtin().describe(row["backend"].get<std::string>());
    const bool on_host = info.kind == NodeKind::host || info.resource == "host-cpu";
    EXPECT_EQ(row["on_host_cpu"].get<bool>(), on_host) << row["backend"];
    EXPECT_EQ(row.contains("share_of_host_limit"), on_host) << row["backend"];
  }
}

// --python times the seed in pure Python here and checks its sum; without python3 it says why.
TEST_F(CliTest, ComparePythonMeasuresThePurePythonSeedHere) {
  const CliResult result =
      cli("compare --preset seed --backend serial --repeat 1 --python --json -");
  ASSERT_EQ(result.status, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  ASSERT_TRUE(document["python"]["ran"].get<bool>()) << document["python"].dump();
  EXPECT_EQ(document["python"]["sum"].get<std::uint64_t>(), test::kSeedSum);
  EXPECT_TRUE(document["python"]["identical_to_serial"].get<bool>());
  EXPECT_GT(document["python"]["seconds"].get<double>(), 0);
  EXPECT_GT(document["backends"][0]["speedup_over_python_measured"].get<double>(), 0);

  const CliResult without =
      cli("compare --preset seed --backend serial --repeat 1 --python --json -",
          "PATH=/hetero-no-such-folder");
  ASSERT_EQ(without.status, 0) << without.err;
  const auto none = nlohmann::json::parse(without.out);
  EXPECT_FALSE(none["python"]["ran"].get<bool>());
  EXPECT_NE(none["python"]["why_not"].get<std::string>().find("python3"), std::string::npos);
  EXPECT_FALSE(none["backends"][0].contains("speedup_over_python_measured"));
}

// Every point of every study, the weak study's taller images and the tile sweep included, is
// checked against its reference.
TEST_F(CliTest, ScaleChecksEveryPointsCounts) {
  for (const std::string study : {"--study both", "--sweep tile"}) {
    const CliResult result =
        cli("scale --preset seed --width 40 --height 30 --backend threads --workers 1,2 " + study +
            " --repeat 1 --warmup 0 --json -");
    ASSERT_EQ(result.status, 0) << result.err;
    const auto document = nlohmann::json::parse(result.out);
    int points = 0;
    for (const auto& entry : document["studies"]) {
      for (const auto& point : entry["points"]) {
        EXPECT_TRUE(point["identical_to_reference"].get<bool>()) << point.dump();
        ++points;
      }
    }
    EXPECT_GE(points, 2) << study;
  }
}

TEST_F(CliTest, DashIsStdoutForEveryOutputFlagAndOnlyOneMayTakeIt) {
  const CliResult trace =
      cli("render --preset seed --width 40 --height 30 --backend serial --trace -");
  ASSERT_EQ(trace.status, 0) << trace.err;
  const auto events = nlohmann::json::parse(trace.out)["traceEvents"];  // the trace alone
  ASSERT_FALSE(events.empty());
  const auto named = std::find_if(events.begin(), events.end(),
                                  [](const auto& event) { return event["name"] == "thread_name"; });
  ASSERT_NE(named, events.end()) << "lanes are named";
  EXPECT_EQ((*named)["args"]["name"], "serial lane 0");
  const CliResult csv =
      cli("scale --preset seed --width 40 --height 30 --backend threads --workers 1 --repeat 1 "
          "--warmup 0 --csv -");
  ASSERT_EQ(csv.status, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("study,", 0), 0U) << csv.out;  // the CSV alone, from its header
  EXPECT_FALSE(std::filesystem::exists("-")) << "a file named '-' in the working directory";
  for (const std::string both : {"render --trace - --json -", "scale --csv - --json -"}) {
    const CliResult refused = cli(both);
    EXPECT_EQ(refused.status, 2) << both;
    EXPECT_NE(refused.err.find("both ask for stdout"), std::string::npos) << refused.err;
  }
}

// The CLI, run from the tests, keeps its model and link probes in the test process's own cache
// directory: never in the user's ~/.cache/hetero.
TEST_F(CliTest, RunsUseTheTestProcesssOwnCacheDirectory) {
  const std::filesystem::path cache = test::hermetic_cache_directory();
  EXPECT_EQ(cache_directory(), cache);
  const std::string temporary = std::filesystem::temp_directory_path().string();
  EXPECT_EQ(cache.string().rfind(temporary, 0), 0U) << cache;
  if (const char* home = std::getenv("HOME")) {
    EXPECT_NE(cache.string().rfind(home, 0), 0U) << cache << " is under HOME";
  }
  // A run long enough to learn the node's rate from (the model is written only then).
  const CliResult result = cli("render --backend serial --preset seed --quiet");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(std::filesystem::exists(cache / "models.json"));
}

// HETERO_INJECT_FAULT makes a node fail mid-run: its tiles run on the others, the counts stay the
// seed's, the report names the failure; a malformed value, or a node the run does not have, is
// a one-line error.
TEST_F(CliTest, InjectedFaultLosesNoWorkAndTheReportNamesIt) {
  const CliResult result =
      cli("render --preset seed --backend threads,serial --policy dynamic --tile 500 --json -",
          "HETERO_INJECT_FAULT=threads:3");
  ASSERT_EQ(result.status, 0) << result.err;
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report["checksum"]["sum"].get<std::uint64_t>(), test::kSeedSum);
  EXPECT_EQ(report["checksum"]["hash"].get<std::string>(), test::kSeedHash);
  bool named = false;
  for (const auto& node : report["nodes"]) {
    if (node["name"] == "threads") {
      named = node["failure"].get<std::string>().find("injected") != std::string::npos;
      EXPECT_TRUE(named) << node.dump();
    }
  }
  EXPECT_TRUE(named) << result.out;

  for (const std::string bad : {"threads", "threads:many", "threads:-1", "threads:1", "1:1"}) {
    const CliResult refused =
        cli("render --preset seed --backend serial", "HETERO_INJECT_FAULT=" + bad);
    EXPECT_EQ(refused.status, 2) << bad << ": " << refused.err;
    EXPECT_EQ(refused.err.find("HETERO_INJECT_FAULT"), 15U) << refused.err;
    EXPECT_EQ(refused.err.find('\n'), refused.err.size() - 1) << refused.err;
  }
}

// A render journaled and stopped at a random moment, by SIGINT (a clean stop) or SIGKILL (no
// chance to flush), then resumed on other backends: the counts are the uninterrupted run's.
TEST_F(CliTest, AnInterruptedRenderResumesFromItsJournalToTheSameChecksum) {
  const std::string job = "--preset full --width 1024 --height 1024 --max-iter 3000 --tile 8192";
  const CliResult whole = cli("render " + job + " --backend threads --json -");
  ASSERT_EQ(whole.status, 0) << whole.err;
  const auto expected = nlohmann::json::parse(whole.out)["checksum"];
  std::mt19937 random(::testing::UnitTest::GetInstance()->random_seed());
  std::uniform_int_distribution<int> delay_ms(150, 700);
  for (const int signal : {SIGINT, SIGKILL, SIGKILL, SIGKILL}) {
    const std::string journal = (folder_ / "render.journal").string();
    std::filesystem::remove(journal);
    std::vector<std::string> args = {
        HETERO_CLI_PATH, "render",  "--preset",   "full",  "--width", "1024",
        "--height",      "1024",    "--max-iter", "3000",  "--tile",  "8192",
        "--backend",     "threads", "--journal",  journal, "--quiet"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, HETERO_CLI_PATH, nullptr, nullptr, argv.data(), environ), 0);
    const int delay = delay_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the render ended before it was stopped";
    kill(pid, signal);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    const CliResult resumed = cli("render " + job + " --backend serial,threads --share --resume " +
                                  journal + " --json -");
    ASSERT_EQ(resumed.status, 0) << resumed.err;
    const auto report = nlohmann::json::parse(resumed.out);
    EXPECT_EQ(report["checksum"], expected) << "signal " << signal << " after " << delay << " ms";
    const std::string note = report["notes"].dump();
    EXPECT_NE(note.find("resumed"), std::string::npos) << note;
    std::printf("  signal %d after %d ms: %s\n", signal, delay, note.c_str());
  }
}

// SIGINT and SIGTERM during a long render: every node stops within a second, the exit status
// is the conventional 128 + signal, and no output file (nor a temporary one) is left behind.
TEST_F(CliTest, InterruptionStopsPromptlyAndLeavesNoOutput) {
  for (const int signal : {SIGINT, SIGTERM}) {
    const std::string out = (folder_ / "long.png").string();
    const std::string json = (folder_ / "long.json").string();
    std::vector<std::string> args = {
        HETERO_CLI_PATH, "render", "--preset",   "full",   "--width",   "3000",
        "--height",      "3000",   "--max-iter", "200000", "--backend", "threads,serial",
        "--out",         out,      "--json",     json,     "--quiet"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, HETERO_CLI_PATH, nullptr, nullptr, argv.data(), environ), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the render ended before it was interrupted";
    const auto sent = std::chrono::steady_clock::now();
    kill(pid, signal);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    EXPECT_LT(seconds, 1.0) << "signal " << signal;
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << signal;
    EXPECT_EQ(WEXITSTATUS(status), 128 + signal);
    EXPECT_EQ(files_in_folder(), 0U) << "signal " << signal << " left a file behind";
    std::printf("  signal %d: stopped in %.3f s, exit %d\n", signal, seconds, WEXITSTATUS(status));
  }
}

// A second signal ends the run at once; it too leaves no output, not even a temporary file.
// Waits up to 5 s until process `pid` has taken `signal` (no longer pending: /proc's ShdPnd).
bool wait_until_taken(pid_t pid, int signal) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("ShdPnd:", 0) != 0) continue;
      const unsigned long long pending = std::stoull(line.substr(7), nullptr, 16);
      if ((pending & (1ULL << (signal - 1))) == 0) return true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

TEST_F(CliTest, ASecondSignalEndsAtOnceAndLeavesNoFile) {
  const std::string out = (folder_ / "long.png").string();
  const std::string json = (folder_ / "long.json").string();
  const std::string err = folder_.string() + ".stderr";
  std::vector<std::string> args = {
      HETERO_CLI_PATH, "render",     "--preset", "full",      "--width", "3000",      "--height",
      "3000",          "--max-iter", "200000",   "--backend", "threads", "--threads", "2",
      "--tile",        "4500000",    "--out",    out,         "--json",  json,        "--quiet"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, HETERO_CLI_PATH, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  // Whatever fails below, the render (minutes long) does not outlive the test.
  struct Reaper {
    pid_t pid;
    bool reaped = false;
    ~Reaper() {
      if (reaped) return;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } reaper{pid};
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_EQ(files_in_folder(), 2U) << "the outputs' temporary files exist while it runs";
  // Two signals, the second once the first was taken (signals of one kind do not queue) and
  // while the run still finishes the tiles in hand: two workers, each with half the image,
  // minutes long. (Two, so that the calling thread waits for them: ThreadSanitizer delivers a
  // signal to a thread that computes only at its next call into the C library.)
  kill(pid, SIGINT);
  ASSERT_TRUE(wait_until_taken(pid, SIGINT)) << "the first signal was never taken";
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  reaper.reaped = true;
  const std::string said = read_file(err);
  std::filesystem::remove(err);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  EXPECT_EQ(said.find("interrupted"), std::string::npos)
      << "the run ended by its first signal, so the second was not tested: " << said;
  EXPECT_EQ(files_in_folder(), 0U) << "a temporary file was left behind";
}

// Every bad input: a one-line error on stderr, nothing on stdout, exit status 2, no file.
TEST_F(CliTest, BadInputGetsOneLineAndANonZeroExit) {
  const std::string out = (folder_ / "out.png").string();
  // A folder where the image would go, outside the folder the test checks is left empty.
  const auto folder_named_png = folder_.parent_path() / (folder_.filename().string() + ".png");
  std::filesystem::create_directories(folder_named_png);
  std::vector<std::pair<std::string, std::string>> cases = {
      {"render --width 0", "--width"},
      {"render --width -5", "--width"},
      {"render --width abc", "--width"},
      {"render --width 12.5", "--width"},
      {"render --height 99999999999", "--height"},
      {"render --preset full --width 2147483647 --height 2147483647", "memory"},
      {"render --width 3000000000", "--width"},
      {"render --xmin nan --xmax 1 --ymin 0 --ymax 1", "--xmin"},
      {"render --xmin 0 --xmax inf --ymin 0 --ymax 1", "--xmax"},
      {"render --xmin 1 --xmax 0 --ymin 0 --ymax 1", "less than"},
      {"render --xmin 0 --xmax 1 --ymin 1 --ymax 1", "less than"},
      {"render --xmin 0", "all four"},
      {"render --backnd threads", "unknown option --backnd (did you mean --backend?)"},
      {"compare --policy static", "add --together, or drop --policy"},
      {"compare --workload heat --python", "--python is an option of the mandelbrot"},
      {"compare --workload triad --together", "--together compares the mandelbrot job only"},
      {"compare --steps 3", "add --workload heat or --workload triad"},
      {"render --rank-backend threads", "no MPI launcher started this program"},
      {"render --qwertyuiop", "unknown option --qwertyuiop; see 'hetero render --help'"},
      {"render --center 0,0 --view-width 1 --xmin 0", "exclude each other"},
      {"render --center 1 --view-width 1", "--center"},
      {"render --center 0,0 --scale 1", "--scale is now --view-width"},
      {"render --center 0,0", "together"},
      {"render --center 0,0 --view-width 0", "positive"},
      {"render --preset seed --xmin 0 --xmax 1 --ymin 0 --ymax 1", "fixes its own region"},
      {"render --max-iter 0", "--max-iter"},
      {"render --max-iter 2147483648", "--max-iter"},
      {"render --max-iter -1", "--max-iter"},
      {"render --backend quantum", "known backends are"},
      {"compare --backend serial+threads", "list them with commas (serial,threads)"},
      {"probe --backend opencl+cuda", "probe measures each backend alone"},
      {"render --backend threads:1", "threads runs on the host CPU and has no device"},
      {"render --backend opencl:", "name a device after ':'"},
      {"render --backend opencl:0,opencl:0", "'opencl:0' is named twice"},
      {"render --backend serial,,threads", "empty name"},
      {"render --backend serial,serial", "twice"},
      {"render --preset mandel", "unknown preset"},
      {"render --policy fastest", "unknown policy"},
      {"render --tile 0", "--tile"},
      {"render --workload weather", "the workloads are mandelbrot, heat and triad"},
      {"render --steps 5", "add --workload heat or --workload triad"},
      {"render --workload heat --preset seed", "--preset is an option of the mandelbrot"},
      {"render --workload heat --steps 0", "--steps 0"},
      {"render --workload heat --size 2x9", "at least 3x3"},
      {"render --workload heat --size 64", "WIDTHxHEIGHT"},
      {"render --workload heat --size 4000000x4000000", "use a smaller grid"},
      {"render --checkpoint-every 3", "add --workload heat or --workload triad"},
      {"render --explain", "--explain is an option of the heat and triad workloads"},
      {"render --workload triad --size 0", "give 1 or more elements"},
      {"render --workload triad --steps 0", "give 1 to"},
      {"render --workload triad --out " + out, "triad draws nothing"},
      {"render --workload heat --checkpoint-every 3", "add --journal FILE"},
      {"render --workload heat --journal " + out, "add --checkpoint-every K"},
      {"render --workload heat --resume /nonexistent/ck", "cannot read the checkpoint"},
      {"render --tile many", "--tile"},
      {"render --precision fp16", "precision"},
      {"render --mode fast", "mode"},
      {"render --threads 0", "--threads"},
      {"render --kernel warp", "kernel"},
      {"render --device-memory 0", "--device-memory"},
      {"render --device-memory -1", "--device-memory"},
      {"render --device-memory 0.5", "--device-memory"},
      {"render --device-memory lots", "--device-memory"},
      {"render --device-memory 5X", "--device-memory"},
      {"render --device-memory 2048T", "--device-memory"},
      {"render --device-memory 101%", "--device-memory"},
      {"render --device-memory 0%", "--device-memory"},
      {"render --device-memory %", "--device-memory"},
      {"render --device-memory nan%", "--device-memory"},
      {"render --device-memory 50", "50%"},
      {"render --out '" + (folder_ / "image.jpg").string() + "'", "ending in .png"},
      {"compare --out '" + (folder_ / "image").string() + "'", "ending in .png"},
      {"scale --device-memory 12..5M", "--device-memory"},
      {"scale --workload heat --sweep tile", "--sweep tile sweeps the mandelbrot job"},
      {"scale --workload heat --preset seed", "--preset is an option of the mandelbrot"},
      {"scale --workload triad --size 0", "give 1 or more elements"},
      {"scale --size 64x48", "add --workload heat or --workload triad"},
      {"scale --workload weather", "the workloads are mandelbrot, heat and triad"},
      {"render --out '" + (folder_ / "no" / "such" / "dir.png").string() + "'", "cannot write"},
      {"render --out '" + folder_named_png.string() + "'", "directory"},
      {"render --json '" + (folder_ / "no" / "report.json").string() + "'", "cannot write"},
      {"render --trace '" + (folder_ / "no" / "trace.json").string() + "'", "cannot write"},
      {"render --out '" + out + "' --width 0", "--width"},
      {"render --bogus-flag", "bogus"},
      {"render extra-word", "extra"},
      {"frobnicate", "frobnicate"},
      {"compare --repeat 0", "--repeat"},
      {"compare --preset seed --width 100 --python", "--python"},
      {"compare --preset full --python", "--python"},
      {"compare --backend nope", "known backends are"},
      {"probe --backend serial", "no link to probe"},
      {"probe --backend threads,opencl", "no link to probe"},
      {"probe --backend quantum", "known backends are"},
      {"probe --backend ''", "empty"},
  };
  for (const Backend& backend : NodeRegistry::builtin().backends()) {
    if (!NodeRegistry::builtin().describe(backend.name).available) {
      cases.emplace_back("render --backend " + backend.name, backend.name);
      cases.emplace_back("probe --backend " + backend.name, backend.name);
    }
  }
  for (const auto& [args, needle] : cases) {
    const CliResult result = cli(args);
    EXPECT_EQ(result.status, 2) << "hetero " << args << "\n" << result.err;
    EXPECT_TRUE(result.out.empty()) << "hetero " << args << ": stdout: " << result.out;
    EXPECT_EQ(result.err.rfind("hetero: error: ", 0), 0U)
        << "hetero " << args << ": " << result.err;
    ASSERT_FALSE(result.err.empty());
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1)
        << "hetero " << args << ": " << result.err;
    EXPECT_NE(result.err.find(needle), std::string::npos)
        << "hetero " << args << ": " << result.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << "hetero " << args;
    EXPECT_EQ(files_in_folder(), 0U) << "hetero " << args << " left a file behind";
    std::printf("  bad input: hetero %s\n    -> %s", args.c_str(), result.err.c_str());
  }
  std::filesystem::remove(folder_named_png);
  std::printf("%zu bad inputs tried\n", cases.size());
}

// `hetero` alone shows the usage as an error; `hetero help` shows it as asked.
TEST_F(CliTest, NoCommandOrHelpShowsTheUsage) {
  const CliResult alone = cli("");
  EXPECT_EQ(alone.status, 2);
  EXPECT_TRUE(alone.out.empty());
  for (const char* needle : {"Usage: hetero", "render", "compare", "scale"}) {
    EXPECT_NE(alone.err.find(needle), std::string::npos) << needle << " in: " << alone.err;
  }
  const CliResult help = cli("help");
  EXPECT_EQ(help.status, 0) << help.err;
  EXPECT_EQ(help.out, alone.err);
}

// --fallback runs the tiles of a backend that cannot run here on the others, and says so in the
// output and the report; without it, the same request is a one-line error.
TEST_F(CliTest, FallbackRunsAnUnavailableBackendsTilesOnTheOthers) {
  std::string absent;
  for (const Backend& backend : NodeRegistry::builtin().backends()) {
    if (!NodeRegistry::builtin().describe(backend.name).available) {
      absent = backend.name;
      break;
    }
  }
  if (absent.empty()) GTEST_SKIP() << "every backend is available here";

  const CliResult refused = cli("render --preset seed --backend " + absent + ",serial");
  EXPECT_EQ(refused.status, 2) << refused.err;

  const CliResult json =
      cli("render --preset seed --backend " + absent + ",serial --fallback --json -");
  ASSERT_EQ(json.status, 0) << json.err;
  const auto report = nlohmann::json::parse(json.out);
  EXPECT_EQ(report["checksum"]["sum"].get<std::uint64_t>(), 51214485U);
  ASSERT_EQ(report["nodes"].size(), 1U);
  EXPECT_EQ(report["nodes"][0]["name"], "serial");
  ASSERT_EQ(report["unavailable_nodes"].size(), 1U);
  EXPECT_EQ(report["unavailable_nodes"][0]["name"], absent);
  EXPECT_FALSE(report["unavailable_nodes"][0]["reason"].get<std::string>().empty());

  // Alone, it falls back to threads; the table says so.
  const CliResult table = cli("render --preset seed --backend " + absent + " --fallback");
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("note: " + absent + " is unavailable ("), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("its tiles run on threads instead (--fallback)"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("sum 51214485"), std::string::npos) << table.out;
}

// compare runs serial first as its reference even when it was not named, and says so then.
TEST_F(CliTest, CompareSaysWhenItRunsSerialUnasked) {
  const std::string job = "--preset seed --width 32 --height 32 --repeat 1";
  const CliResult unasked = cli("compare " + job + " --backend threads");
  ASSERT_EQ(unasked.status, 0) << unasked.err;
  EXPECT_NE(unasked.err.find("serial runs first, though not named"), std::string::npos)
      << unasked.err;
  EXPECT_NE(unasked.out.find("\nserial "), std::string::npos) << unasked.out;
  const CliResult asked = cli("compare " + job + " --backend serial,threads");
  ASSERT_EQ(asked.status, 0) << asked.err;
  EXPECT_EQ(asked.err.find("serial runs first"), std::string::npos) << asked.err;
}

// A backend that cannot run here follows one rule in every command, checked before any work:
// named, it is a one-line error naming --fallback, and nothing runs; with --fallback it is left
// out and said; within "all" it is left out and said.
TEST_F(CliTest, ABackendThatCannotRunFollowsOneRuleInEveryCommand) {
  std::string absent;
  for (const Backend& backend : NodeRegistry::builtin().backends()) {
    const NodeInfo info = NodeRegistry::builtin().describe(backend.name);
    if (!info.available && info.kind != NodeKind::host) {
      absent = backend.name;
      break;
    }
  }
  if (absent.empty()) GTEST_SKIP() << "every device and remote backend is available here";
  const std::string job = "--preset seed --width 32 --height 32 --repeat 1";
  for (const std::string& command :
       {"render --preset seed --width 32 --height 32 --backend " + absent + ",serial",
        "compare " + job + " --backend " + absent + ",threads",
        "compare --workload triad --size 1000 --steps 1 --repeat 1 --backend " + absent,
        "scale " + job + " --workers 1 --backend " + absent + ",threads",
        "probe --backend " + absent}) {
    const CliResult refused = cli(command);
    EXPECT_EQ(refused.status, 2) << command << ": " << refused.err;
    EXPECT_EQ(refused.err.find('\n'), refused.err.size() - 1) << command << ": " << refused.err;
    EXPECT_NE(refused.err.find("backend '" + absent + "' cannot run here"), std::string::npos)
        << command << ": " << refused.err;
    EXPECT_NE(refused.err.find("--fallback"), std::string::npos) << command;
    EXPECT_TRUE(refused.out.empty()) << command << " worked before refusing: " << refused.out;
  }
  const std::string left_out = "hetero: note: " + absent + " cannot run here (";
  for (const std::string& command :
       {"compare " + job + " --backend " + absent + ",threads --fallback",
        "scale " + job + " --workers 1 --backend " + absent + ",threads --fallback",
        "probe --backend " + absent + " --fallback"}) {
    const CliResult went_on = cli(command);
    EXPECT_EQ(went_on.status, 0) << command << ": " << went_on.err;
    EXPECT_NE(went_on.err.find(left_out), std::string::npos) << command << ": " << went_on.err;
    EXPECT_NE(went_on.err.find("left out (--fallback)"), std::string::npos) << command;
  }
  const CliResult compared = cli("compare " + job + " --backend " + absent + ",threads --fallback");
  EXPECT_NE(compared.out.find("\nthreads "), std::string::npos) << compared.out;
  EXPECT_EQ(compared.out.find("\n" + absent + " "), std::string::npos) << compared.out;
  for (const std::string& command : {std::string("probe"), "compare " + job}) {
    const CliResult all = cli(command);
    EXPECT_EQ(all.status, 0) << command << ": " << all.err;
    EXPECT_NE(all.err.find("hetero: note: all: "), std::string::npos) << command << ": " << all.err;
    EXPECT_NE(all.err.find(absent), std::string::npos) << command << ": " << all.err;
  }
}

// `hetero probe` measures a device node's link anew, by copy size and host memory, and stores it
// in the link cache, which `hetero devices` then reads.
TEST_F(CliTest, ProbeMeasuresTheLinkAndDevicesShowsItFromTheCache) {
  if (!NodeRegistry::builtin().describe("opencl").available) {
    GTEST_SKIP() << "opencl is unavailable: " << NodeRegistry::builtin().describe("opencl").reason;
  }
  const std::filesystem::path cache = folder_ / "cache";
  const std::string env = "HETERO_CACHE_DIR='" + cache.string() + "' ";
  const CliResult probed = cli("probe --backend opencl --json");
  ASSERT_EQ(probed.status, 0) << probed.err;
  EXPECT_TRUE(std::filesystem::exists(test::hermetic_cache_directory() / "links.json"));
  const auto json = nlohmann::json::parse(probed.out);
  ASSERT_EQ(json["links"].size(), 1U);
  EXPECT_EQ(json["schema"], "hetero.links");
  EXPECT_EQ(json["schema_version"], 2);  // 2: figures not measured are null
  const auto& link = json["links"][0]["link"];
  EXPECT_EQ(link["source"], "probe");
  EXPECT_GT(link["to_host_bytes_per_s"].get<double>(), 0);
  EXPECT_EQ(link["to_device_bytes_per_s_by_size"]["pinned"].size(), 3U) << link.dump();

  // The same through the table, into a fresh cache: devices reads it back, by size.
  const std::string command = std::string("env ") + env + "'" + HETERO_CLI_PATH + "'";
  const auto run = [&](const std::string& args) {
    return std::system(
        (command + " " + args + " >'" + (folder_ / "out.txt").string() + "'").c_str());
  };
  ASSERT_EQ(run("probe"), 0);
  const std::string table = read_file(folder_ / "out.txt");
  EXPECT_NE(table.find("opencl: "), std::string::npos) << table;
  EXPECT_NE(table.find("pinned 64 KiB "), std::string::npos) << table;
  EXPECT_TRUE(std::filesystem::exists(cache / "links.json"));
  ASSERT_EQ(run("devices"), 0);
  const std::string devices = read_file(folder_ / "out.txt");
  EXPECT_NE(devices.find("(cache)"), std::string::npos) << devices;
  EXPECT_NE(devices.find("link to host: pageable 64 KiB "), std::string::npos) << devices;
}

// A device node whose memory cap cannot hold whole tiles computes them in pieces and says so;
// a cap that cannot hold even the job's axes fails in one line, leaving no file.
TEST_F(CliTest, DeviceMemoryCapCutsTilesIntoPiecesOrFailsInOneLine) {
  if (!NodeRegistry::builtin().describe("opencl").available) {
    GTEST_SKIP() << "opencl is unavailable: " << NodeRegistry::builtin().describe("opencl").reason;
  }
  const std::string out = (folder_ / "seed.png").string();
  const CliResult pieces = cli(
      "render --backend opencl --preset seed --tile 65536 --device-memory 64K --out '" + out + "'");
  EXPECT_EQ(pieces.status, 0) << pieces.err;
  EXPECT_NE(pieces.out.find(" pieces: whole tiles did not fit"), std::string::npos) << pieces.out;
  EXPECT_NE(pieces.out.find("sum 51214485"), std::string::npos) << pieces.out;
  EXPECT_TRUE(std::filesystem::exists(out));
  std::filesystem::remove(out);

  const CliResult too_small =
      cli("render --backend opencl --preset seed --device-memory 1K --out '" + out + "'");
  EXPECT_EQ(too_small.status, 1) << too_small.err;
  // Only the job's line, printed before the run: no table.
  EXPECT_EQ(too_small.out, "seed 500x500, max-iter 1000, fp64 exact, policy dynamic\n");
  EXPECT_EQ(too_small.err.find('\n'), too_small.err.size() - 1) << too_small.err;
  // The column axis: 500 doubles.
  EXPECT_NE(too_small.err.find("cannot allocate 4000 bytes"), std::string::npos) << too_small.err;
  EXPECT_NE(too_small.err.find("--device-memory"), std::string::npos) << too_small.err;
  EXPECT_EQ(files_in_folder(), 0U) << "a failed render left a file behind";
}

#ifdef HETERO_FAKE_MODULE_NAME
// The libraries a run loaded, from the dynamic loader's own log (LD_DEBUG=libs): each
// "calling init: PATH" line.
std::vector<std::string> libraries_initialized(const std::string& loader_log) {
  std::vector<std::string> libraries;
  std::istringstream lines(loader_log);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t at = line.find("calling init: ");
    if (at != std::string::npos) libraries.push_back(line.substr(at + 14));
  }
  return libraries;
}

bool any_contains(const std::vector<std::string>& libraries, std::string_view part) {
  return std::any_of(libraries.begin(), libraries.end(), [&](const std::string& library) {
    return library.find(part) != std::string::npos;
  });
}

// The outside runtimes of the backend modules.
constexpr std::string_view kBackendRuntimes[] = {"libmpi", "libOpenCL", "libhwy",
                                                 "kokkos", "libcudart", "libgomp"};

// A run on a node of the library's own loads no module and none of their runtimes; the simd
// node loads its module and Highway, nothing more; `devices` loads every module.
TEST_F(CliTest, ModulesLoadOnlyWhenANodeNeedsThem) {
  const CliResult serial =
      cli("render --backend serial --preset seed --width 64 --height 64 -q", "LD_DEBUG=libs");
  ASSERT_EQ(serial.status, 0) << serial.err;
  const std::vector<std::string> loaded = libraries_initialized(serial.err);
  ASSERT_TRUE(any_contains(loaded, "libhetero.so")) << serial.err.substr(0, 2000);
  EXPECT_FALSE(any_contains(loaded, "/hetero/hetero-")) << serial.err.substr(0, 2000);
  for (const std::string_view runtime : kBackendRuntimes) {
    EXPECT_FALSE(any_contains(loaded, runtime)) << runtime;
  }
  if (NodeRegistry::builtin().describe("simd").available) {
    const CliResult simd =
        cli("render --backend simd --preset seed --width 64 --height 64 -q", "LD_DEBUG=libs");
    ASSERT_EQ(simd.status, 0) << simd.err;
    const std::vector<std::string> with_simd = libraries_initialized(simd.err);
    EXPECT_TRUE(any_contains(with_simd, "/hetero/hetero-simd.so"));
    EXPECT_TRUE(any_contains(with_simd, "libhwy"));
    EXPECT_FALSE(any_contains(with_simd, "libmpi"));
    EXPECT_FALSE(any_contains(with_simd, "libOpenCL"));
  }
  const CliResult devices = cli("devices", "LD_DEBUG=libs");
  ASSERT_EQ(devices.status, 0) << devices.err;
  const std::vector<std::string> all = libraries_initialized(devices.err);
  for (const std::filesystem::directory_entry& module :
       std::filesystem::directory_iterator(HETERO_MODULE_BUILD_DIR)) {
    EXPECT_TRUE(any_contains(all, "/hetero/" + module.path().filename().string())) << module.path();
  }
}

// A module that cannot load leaves its backends absent, each with the loader's reason: listed by
// `devices`, a one-line error when asked for, left out under --fallback.
TEST_F(CliTest, AModuleThatCannotLoadIsAnAbsentBackendWithTheLoadersReason) {
  const std::string backend = HETERO_FAKE_MODULE_NAME;  // each module has a backend of its name
  const auto path_to = [](const char* folder) {
    return "HETERO_MODULE_PATH='" +
           (std::filesystem::path(HETERO_FAKE_MODULE_DIR) / folder).string() + "'";
  };
  const std::pair<const char*, const char*> cases[] = {
      {"missing_dependency", "libhetero_absent.so: cannot open shared object file"},
      {"other_version",
       "was built for hetero 0.0.0-other and this library is hetero " HETERO_VERSION_STRING},
      {"not_a_module", "is not a hetero module (it has no hetero_module_entry)"}};
  for (const auto& [folder, reason] : cases) {
    SCOPED_TRACE(folder);
    const CliResult devices = cli("devices --json", path_to(folder));
    ASSERT_EQ(devices.status, 0) << devices.err;
    bool listed = false;
    const nlohmann::json document = nlohmann::json::parse(devices.out);
    for (const auto& entry : document["backends"]) {
      if (entry["name"] != backend) continue;
      listed = true;
      EXPECT_FALSE(entry["available"].get<bool>());
      const std::string why = entry["reason"];
      EXPECT_NE(why.find("its module cannot load: "), std::string::npos) << why;
      EXPECT_NE(why.find(reason), std::string::npos) << why;
    }
    EXPECT_TRUE(listed);

    const std::string run = "render --preset seed --width 32 --height 32 --backend " + backend;
    const CliResult asked = cli(run, path_to(folder));
    EXPECT_EQ(asked.status, 2) << asked.err;
    EXPECT_EQ(asked.err.find('\n'), asked.err.size() - 1) << asked.err;
    EXPECT_NE(asked.err.find("backend '" + backend + "' cannot run here"), std::string::npos)
        << asked.err;
    EXPECT_NE(asked.err.find(reason), std::string::npos) << asked.err;

    const CliResult fallen = cli(run + " --fallback", path_to(folder));
    EXPECT_EQ(fallen.status, 0) << fallen.err;
    EXPECT_NE(fallen.out.find("note: " + backend + " is unavailable (its module cannot load: "),
              std::string::npos)
        << fallen.out;
  }
}
#endif

}  // namespace
}  // namespace hetero

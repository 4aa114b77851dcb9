// RUN_DIR/provenance.jsonl (provenance.h): a start writes one record, a resume appends one, a new
// run in a directory without a checkpoint starts the file afresh; the recorded commit is a commit
// of this source tree (asked of git), the other fields match what this process sees.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "rlpp/train/run.h"
#include "rlpp/version.h"
#include "test_dirs.h"
#include "test_runs.h"

namespace {

std::vector<nlohmann::json> provenance_lines(const std::string& run_dir) {
  std::ifstream in(run_dir + "/provenance.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SSZ".
std::time_t parse_utc(const std::string& s) {
  std::tm tm{};
  EXPECT_NE(strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << s;
  return timegm(&tm);
}

const std::vector<std::string> kProvenanceSets = {"run.total_steps=1024", "run.checkpoint_every=1", "ppo.num_steps=128"};

}  // namespace

TEST(Provenance, StartWritesAResumeAppends) {
  rlpp::testing::TempDir dir("provenance");
  const std::string run = dir.sub("run");
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 1);  // one of the recorded variables; no effect on a CPU run
  const std::time_t before = std::time(nullptr);
  rlpp::testing::runs::start("cartpole_ppo.toml", run, kProvenanceSets, 1);
  std::atomic<bool> stop{false};
  rlpp::train::resume_run(run, {}, 0, true, stop);
  const std::time_t after = std::time(nullptr);
  unsetenv("CUBLAS_WORKSPACE_CONFIG");

  const auto lines = provenance_lines(run);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["command"], "train");
  EXPECT_EQ(lines[1]["command"], "resume");
  for (const auto& r : lines) {
    const std::time_t t = parse_utc(r["time"].get<std::string>());
    EXPECT_GE(t, before);
    EXPECT_LE(t, after);
    EXPECT_EQ(r["rlpp"], RLPP_VERSION);
    EXPECT_EQ(r["ranks"], 1);
    EXPECT_EQ(r["cores"], static_cast<int>(std::thread::hardware_concurrency()));
    EXPECT_FALSE(r["cpu"].get<std::string>().empty());
    EXPECT_TRUE(std::regex_match(r["libtorch"].get<std::string>(), std::regex(R"(\d+\.\d+\.\d+.*)"))) << r;
    EXPECT_EQ(r["env"]["CUBLAS_WORKSPACE_CONFIG"], ":4096:8");
    const std::string commit = r["commit"];
    std::smatch m;
    ASSERT_TRUE(std::regex_match(commit, m, std::regex(R"(([0-9a-f]{12})(-dirty)?|unknown)"))) << commit;
    if (std::filesystem::exists(std::string(RLPP_SOURCE_DIR) + "/.git") && commit != "unknown") {
      // the build's commit is one git knows in this tree (not made up)
      const std::string ask = "git -C '" + std::string(RLPP_SOURCE_DIR) + "' cat-file -e " + m[1].str() +
                              "^{commit} 2>/dev/null";
      EXPECT_EQ(std::system(ask.c_str()), 0) << commit;
    }
  }
}

TEST(Provenance, ANewRunStartsTheFileAfresh) {
  rlpp::testing::TempDir dir("provenance-new");
  const std::string run = dir.sub("run");
  // a run that never reached a checkpoint: a recipe and an old record, no checkpoints/
  std::filesystem::create_directories(run);
  std::ofstream(run + "/recipe.toml") << "[run]\nalgorithm = \"ppo\"\n";
  std::ofstream(run + "/provenance.jsonl") << "{\"command\": \"train\"}\n{\"command\": \"resume\"}\n";
  rlpp::testing::runs::start("cartpole_ppo.toml", run, kProvenanceSets, 1);
  const auto lines = provenance_lines(run);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["command"], "train");
  EXPECT_TRUE(lines[0].contains("commit"));
}

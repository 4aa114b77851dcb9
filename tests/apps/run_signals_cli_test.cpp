// `rlpp train` and `rlpp resume` as batch schedulers and careless users drive them: SIGTERM stops
// a run like Ctrl-C (checkpoint, exit 0, resumable), a directory or an empty file is not a recipe,
// and a resume may not change what the checkpoint holds — each a one-line error with exit code 2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "apps/cli_util.h"
#include "common/temp_dir.h"

namespace fs = std::filesystem;
using rlpp::testing::Result;
using rlpp::testing::run_cli;
using rlpp::testing::TempDir;

namespace {

std::string recipe() { return std::string(RLPP_SOURCE_DIR) + "/configs/cartpole_ppo.toml"; }

// Starts `rlpp train` on CartPole in the background and returns its pid once an update was logged.
pid_t start_training(const std::string& out) {
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    execl(RLPP_CLI, RLPP_CLI, "train", recipe().c_str(), "--out", out.c_str(), "--quiet", (char*)nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (fs::exists(out + "/metrics.jsonl", ec) && fs::file_size(out + "/metrics.jsonl", ec) > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pid;
}

bool has_checkpoint(const std::string& out) {
  std::error_code ec;
  if (!fs::is_directory(out + "/checkpoints", ec)) return false;
  for (const auto& e : fs::directory_iterator(out + "/checkpoints")) {
    if (e.path().extension() == ".pt") return true;
  }
  return false;
}

}  // namespace

TEST(CliRun, SigtermWritesACheckpointAndExitsCleanly) {
  TempDir dir("cli-term");
  const std::string out = dir.sub("run");
  const pid_t pid = start_training(out);
  ASSERT_GT(pid, 0);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(has_checkpoint(out));
  const Result r = run_cli("resume " + out + " --stop-after-updates 1 --quiet", dir);
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(CliRun, ADirectoryOrAnEmptyFileIsNotARecipe) {
  TempDir dir("cli-recipe");
  Result r = run_cli("train " + dir.str() + " --out " + dir.sub("run") + " --quiet", dir);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.sub("run")));
  const std::string empty = dir.sub("empty.toml");
  std::ofstream(empty) << "\n";
  r = run_cli("train " + empty + " --out " + dir.sub("run") + " --quiet", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.sub("run")));
}

TEST(CliRun, ResumeRefusesAChangedArchitectureBeforeLoading) {
  TempDir dir("cli-arch");
  const std::string out = dir.sub("run");
  Result r = run_cli("train " + recipe() + " --out " + out + " --set run.total_steps=1024 --quiet", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_cli("resume " + out + " --set policy.hidden=[32] --quiet", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("policy.hidden"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

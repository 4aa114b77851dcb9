// Tests of the `rlpp` program as a user runs it: exit codes, messages, files written, Ctrl-C.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "apps/cli_util.h"
#include "common/temp_dir.h"

namespace fs = std::filesystem;
using rlpp::testing::TempDir;

namespace {

using rlpp::testing::Result;
using rlpp::testing::run_cli;
using rlpp::testing::slurp;

std::string recipe() { return std::string(RLPP_SOURCE_DIR) + "/configs/cartpole_ppo.toml"; }

}  // namespace

TEST(Cli, VersionNamesRlppLibTorchAndCuda) {
  TempDir dir("cli");
  const Result r = run_cli("--version", dir);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("rlpp 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" (commit "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LibTorch 1."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CUDA available: "), std::string::npos) << r.out;
}

TEST(Cli, HelpOfEachSubcommandHasExamples) {
  TempDir dir("cli");
  for (const std::string sub : {"train", "resume", "eval", "list", "plot", "sweep", "certify", "simulate"}) {
    const Result r = run_cli(sub + " --help", dir);
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << sub << ": " << r.out;
  }
}

TEST(Cli, ListShowsEveryRegistry) {
  TempDir dir("cli");
  const Result r = run_cli("list", dir);
  EXPECT_EQ(r.code, 0);
  for (const std::string name : {"envs:", "CartPole-v1", "Pendulum-v1", "algorithms:", "ppo", "objectives:",
                                 "ppo_clip", "advantages:", "gae", "aggregations:", "token-mean", "kl:", "k3+",
                                 "selectors:"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }
  const Result bad = run_cli("list envz", dir);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("did you mean 'envs'"), std::string::npos) << bad.err;
}

// docs/objectives.md's reference tables are `rlpp list --markdown` verbatim, and its hand-written
// part mentions every registered algo component by name.
TEST(Cli, ObjectivesDocIsInSyncWithTheRegistries) {
  TempDir dir("cli");
  const Result md = run_cli("list --markdown", dir);
  ASSERT_EQ(md.code, 0) << md.err;
  const std::string doc = slurp(std::string(RLPP_SOURCE_DIR) + "/docs/objectives.md");
  const std::string begin = "<!-- BEGIN GENERATED -->\n", end = "<!-- END GENERATED -->";
  const size_t b = doc.find(begin), e = doc.find(end);
  ASSERT_TRUE(b != std::string::npos && e != std::string::npos && b < e);
  EXPECT_EQ(doc.substr(b + begin.size(), e - b - begin.size()), md.out)
      << "docs/objectives.md is out of date: run scripts/update-docs.sh";
  const std::string written = doc.substr(0, b);
  for (const std::string kind : {"advantages", "objectives", "aggregations", "kl", "kl_controllers", "selectors",
                                 "allocations", "entropy_controls"}) {
    const Result r = run_cli("list " + kind, dir);
    ASSERT_EQ(r.code, 0) << kind << ": " << r.err;
    std::istringstream lines(r.out);
    std::string line;
    int names = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("  ", 0) != 0) continue;  // "kind:" header
      const std::string name = line.substr(2, line.find(' ', 2) - 2);
      ++names;
      EXPECT_NE(written.find("`" + name + "`"), std::string::npos) << kind << " '" << name << "' is not documented";
    }
    EXPECT_GT(names, 0) << kind;
  }
}

TEST(Cli, RecipeErrorsNameKeyFileAndLineAndWriteNothing) {
  TempDir dir("cli");
  const std::string bad = dir.sub("bad.toml");
  std::ofstream(bad) << "[run]\ntotal_steps = 1000\n\n[ppo]\nnum_step = 64\n";
  const std::string out = dir.sub("run");
  Result r = run_cli("train " + bad + " --out " + out, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.toml:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ppo.num_step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'ppo.num_steps'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;

  std::ofstream(bad) << "[ppo]\ngamma = \"high\"\n";
  r = run_cli("train " + bad + " --out " + out, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.toml:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expects a number"), std::string::npos) << r.err;

  r = run_cli("train " + recipe() + " --set ppo.clip_coef=-1 --out " + out, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--set ppo.clip_coef=-1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;

  r = run_cli("train " + dir.sub("missing.toml") + " --out " + out, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing.toml"), std::string::npos) << r.err;

  std::ofstream(dir.sub("file")) << "x";
  r = run_cli("train " + recipe() + " --out " + dir.sub("file") + "/run", dir);
  EXPECT_EQ(r.code, 2) << r.err;

  r = run_cli("train", dir);  // missing argument
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(fs::exists(out));
}

TEST(Cli, TrainEvalPlotResume) {
  TempDir dir("cli");
  const std::string out = dir.sub("run");
  Result r = run_cli("train " + recipe() + " --set run.total_steps=2048 --out " + out, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(out), std::string::npos);
  r = run_cli("eval " + out + " --episodes 3", dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("episodes 3"), std::string::npos) << r.out;
  r = run_cli("eval " + out + "/checkpoints/update_0000004.pt --episodes 2", dir);
  EXPECT_EQ(r.code, 0) << r.err;
  r = run_cli("plot " + out + " --out " + dir.sub("curve.png"), dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.sub("curve.png")));
  r = run_cli("resume " + out + " --set run.total_steps=3072 --quiet", dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out + "/checkpoints/update_0000006.pt"));
  r = run_cli("resume " + dir.sub("nothing"), dir);
  EXPECT_EQ(r.code, 2);
}

// Ctrl-C during training: the current update finishes, a checkpoint is written, exit code 0,
// and the run can be resumed.
TEST(Cli, SigintWritesACheckpointAndExitsCleanly) {
  TempDir dir("cli");
  const std::string out = dir.sub("run");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string devnull = "/dev/null";
    freopen(devnull.c_str(), "w", stdout);
    execl(RLPP_CLI, RLPP_CLI, "train", recipe().c_str(), "--out", out.c_str(), "--quiet", (char*)nullptr);
    _exit(127);
  }
  // Wait until at least one update was logged.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(out + "/metrics.jsonl") && fs::file_size(out + "/metrics.jsonl") > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  bool any = false;
  for (const auto& e : fs::directory_iterator(out + "/checkpoints")) any |= e.path().extension() == ".pt";
  EXPECT_TRUE(any);
  const Result r = run_cli("resume " + out + " --stop-after-updates 1 --quiet", dir);
  EXPECT_EQ(r.code, 0) << r.err;
}

// Games (docs/games.md): the toy game's certificate as a user sees it, and bad game files.
TEST(Cli, CertifyAndSimulateTheToyGame) {
  TempDir dir("cli");
  const std::string json = dir.sub("toy.json");
  Result r = run_cli("certify configs/games/toy.toml --out " + json, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("SGN: HOLDS  alpha* = 0.292893  beta = 1.70711"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not monotone"), std::string::npos) << r.out;
  const std::string text = slurp(json);
  EXPECT_NE(text.find("\"holds\": true"), std::string::npos) << text;
  r = run_cli("simulate configs/games/toy.toml --steps 100", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("OK (certificate not faster than measured)"), std::string::npos) << r.out;
}

TEST(Cli, BadGameFilesExitWithCodeTwoAndWriteNothing) {
  TempDir dir("cli");
  const std::string bad = dir.sub("bad.toml"), json = dir.sub("cert.json");
  std::ofstream(bad) << "kind = \"quadratic\"\n[[players]]\ndim = 1\nQ = [[nan]]\n";
  Result r = run_cli("certify " + bad + " --out " + json, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.toml: players[0].Q[0][0]: must be finite"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_FALSE(fs::exists(json));
  std::ofstream(bad) << "kind = \"quadratic\"\n[[players]]\ndim = 2\nQ = [[1.0, 0.0]]\n";
  r = run_cli("simulate " + bad, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("players[0].Q: expected a 2x2 matrix"), std::string::npos) << r.err;
  r = run_cli("certify configs/games/markov_coordination.toml --coupling 2", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--coupling needs a quadratic"), std::string::npos) << r.err;
}

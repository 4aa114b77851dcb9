// The program against hostile input: non-files where a file is meant, numbers beyond double range,
// outputs that cannot be written, a model server that is not there, non-ASCII text. Each is one
// clear line on stderr, exit code 2, and nothing (half-)written.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/cli_util.h"
#include "train/test_dirs.h"

namespace fs = std::filesystem;
using rlpp::testing::Result;
using rlpp::testing::run_cli;
using rlpp::testing::slurp;
using rlpp::testing::TempDir;

namespace {

// run_cli under `timeout`: a command that blocks (a FIFO with no writer) fails with 124 instead of
// hanging the test.
Result run_cli_bounded(const std::string& args, const TempDir& dir, int seconds) {
  const std::string out = dir.sub("stdout.txt"), err = dir.sub("stderr.txt");
  const std::string cmd = std::string("cd ") + RLPP_SOURCE_DIR + " && timeout " + std::to_string(seconds) + " " +
                          RLPP_CLI + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST(Reliability, AgentCasesValidateRefusesWhatIsNotACaseFile) {
  TempDir dir("rel");
  const std::string fifo = dir.sub("cases.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  struct Bad {
    std::string path, says;
  };
  for (const Bad& b : {Bad{dir.str(), "is a directory"}, Bad{fifo, "not a regular file"},
                       Bad{"/dev/urandom", "not a regular file"}}) {
    const Result r = run_cli_bounded("agent-cases --validate " + b.path, dir, 20);
    EXPECT_EQ(r.code, 2) << b.path << "\n" << r.err;
    EXPECT_NE(r.err.find(b.says), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(b.path), std::string::npos) << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
  }
  // A regular file with no newline: refused at its first line after 16 MiB, not read whole.
  const std::string big = dir.sub("big.jsonl");
  std::ofstream(big) << std::string((size_t{16} << 20) + 1, 'x');
  const Result r = run_cli_bounded("agent-cases --validate " + big, dir, 60);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(big + ":1: line longer than 16 MiB"), std::string::npos) << r.err;
}

TEST(Reliability, AgentCasesChecksEveryOutputBeforeWritingAny) {
  TempDir dir("rel");
  const std::string out = dir.sub("cases.jsonl");
  Result r = run_cli("agent-cases --per-path 1 --max-tasks 1 --out " + out + " --sft-out /nonexistent/x.jsonl", dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--sft-out /nonexistent/x.jsonl"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = run_cli("agent-cases --per-path 1 --max-tasks 1 --out " + dir.str() + " --sft-out " + dir.sub("sft.jsonl"), dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.sub("sft.jsonl")));
}

// Non-ASCII text in a case: the alphabet lists whole characters (it was a sorted set of bytes).
TEST(Reliability, AgentCasesAlphabetOfNonAsciiTextIsUtf8) {
  TempDir dir("rel");
  const std::string gen = dir.sub("gen.jsonl");
  Result r = run_cli("agent-cases --per-path 1 --max-tasks 1 --out " + gen, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(gen);
  std::string first;
  std::getline(in, first);
  nlohmann::json c = nlohmann::json::parse(first);
  // The user's words appear in the case's messages and in its task list (which the golden SFT
  // prompt is rendered from).
  for (auto& m : c["messages"])
    if (m.value("role", "") == "user" && m["content"].is_string()) m["content"] = m["content"].get<std::string>() + " café ✓";
  for (auto& t : c["task"])
    if (t.is_string()) t = t.get<std::string>() + " café ✓";
  const std::string cases = dir.sub("cases.jsonl"), alphabet = dir.sub("alphabet.json");
  std::ofstream(cases) << c.dump() << "\n";
  r = run_cli("agent-cases --cases " + cases + " --sft-out " + dir.sub("sft.jsonl") + " --alphabet-out " + alphabet, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json a = nlohmann::json::parse(slurp(alphabet));
  const std::string chars = a["alphabet"].get<std::string>();
  EXPECT_NE(chars.find("é"), std::string::npos);
  EXPECT_NE(chars.find("✓"), std::string::npos);
  // The count is of characters: bytes that do not continue a UTF-8 sequence (10xxxxxx).
  size_t starts = 0;
  for (unsigned char b : chars) starts += (b & 0xC0) != 0x80;
  EXPECT_EQ(a["num_chars"].get<size_t>(), starts);
}

TEST(Reliability, CertifyNumberOverflowIsOneLineNamingTheFile) {
  TempDir dir("rel");
  const std::string game = dir.sub("game.json");
  std::ofstream(game) << "{\"kind\": \"lq_rotation\",\n \"dim\": 2,\n \"lambda\": 1e999}\n";
  const Result r = run_cli("certify " + game, dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(game + ":3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1e999"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(Reliability, CertifyOfAManyPlayerGameShowsProgress) {
  TempDir dir("rel");
  const Result r = run_cli("certify configs/games/random100x10.json", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("certify: local constants"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("certify: weights"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("SGN: HOLDS"), std::string::npos) << r.out;
}

// Nothing listens on port 1: every request fails, which must not read as "accuracy 0 %".
TEST(Reliability, AgentBenchWithNoServerFailsAndLeavesNoDirectory) {
  TempDir dir("rel");
  const std::string out = dir.sub("bench/run");
  const Result r = run_cli_bounded("agent-bench --cases tests/fixtures/harness/cases.jsonl --base-url http://127.0.0.1:1 "
                                   "--model m --retries 0 --timeout 5 --no-plots --out " + out,
                                   dir, 120);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("none of the"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("action accuracy"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.sub("bench")));
}

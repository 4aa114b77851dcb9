#include "rlpp/harness/agent_bench.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/test_util.h"
#include "harness/harness_test_util.h"
#include "rlpp/harness/scripted_model.h"

namespace rlpp::harness {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using rlpp::test::slurp;
using rlpp::test::TempDir;
using test::fixture;

TEST(AgentBench, OracleRunWritesEveryOutput) {
  TempDir tmp;
  const auto cases = read_cases(fixture("cases.jsonl")).cases;
  OracleModel oracle(cases, {{fault_key("d2-combined", 0, 1), {{"role", "assistant"}, {"content", "Done."}}}});
  BenchOptions o;
  o.cases_path = fixture("cases.jsonl");
  o.out_dir = tmp / "out";
  o.trials = 2;
  o.concurrency = 2;
  std::ostringstream log;
  const BenchResult r = run_agent_bench(oracle, o, log);
  EXPECT_EQ(r.cases, 5);
  EXPECT_EQ(r.skipped, 0);
  // 10 tasks x 2 trials; d2 fails both times: 18 / 20.
  const json m = json::parse(slurp(o.out_dir + "/metrics.json"));
  EXPECT_EQ(m["overall"]["n"], 20);
  EXPECT_NEAR(m["overall"]["action_acc"].get<double>(), 0.9, 1e-12);
  EXPECT_EQ(m["errors"]["action"]["early_stop"], 2);
  EXPECT_EQ(m["tasks"].size(), 20u);
  EXPECT_NEAR(m["pass_hat_k"]["2"].get<double>(), 0.9, 1e-12);
  // every request is in the transcript; the oracle's requests counted by hand per trial:
  // d1 2+1, d2 2 (fails at step 1), d3 3+2, d4 3+1+3+2, d5 2 -> 21
  std::istringstream tr(slurp(o.out_dir + "/transcripts.jsonl"));
  int lines = 0;
  for (std::string l; std::getline(tr, l);) {
    ++lines;
    EXPECT_TRUE(json::parse(l).contains("request"));
  }
  EXPECT_EQ(lines, 42);
  const std::string report = slurp(o.out_dir + "/report.md");
  EXPECT_NE(report.find("## Accuracy by task position × type"), std::string::npos);
  EXPECT_NE(report.find("| action | early_stop | 2 | 100.0 |"), std::string::npos) << report;
  EXPECT_NE(log.str().find("10/10 dialogues"), std::string::npos) << log.str();
  for (const auto& e : fs::directory_iterator(o.out_dir))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(AgentBench, MalformedCasesAreSkippedAndNamed) {
  TempDir tmp;
  const auto cases = read_cases(fixture("bad_cases.jsonl")).cases;
  OracleModel oracle(cases);
  BenchOptions o;
  o.cases_path = fixture("bad_cases.jsonl");
  o.out_dir = tmp / "out";
  o.plots = false;
  std::ostringstream log;
  const BenchResult r = run_agent_bench(oracle, o, log);
  EXPECT_EQ(r.cases, 1);
  EXPECT_EQ(r.skipped, 5);
  EXPECT_NE(log.str().find("bad_cases.jsonl:2 (id cycle): "), std::string::npos) << log.str();
  const json m = json::parse(slurp(o.out_dir + "/metrics.json"));
  EXPECT_EQ(m["skipped_cases"].size(), 5u);
  EXPECT_EQ(m["skipped_cases"][2]["line"], 3);
}

TEST(AgentBench, PathLimitSkipsACase) {
  std::ostringstream log;
  PathOptions p;
  p.max_paths = 2;  // d2 has 3 node-level paths, d5 3
  const CaseFile f = load_cases_checked(fixture("cases.jsonl"), {}, p, log);
  EXPECT_EQ(f.cases.size(), 3u);
  EXPECT_NE(log.str().find("(id d2-combined): more than 2 step paths"), std::string::npos) << log.str();
}

TEST(AgentBench, NoValidCaseOrBadOptionsWriteNothing) {
  TempDir tmp;
  OracleModel oracle({});
  BenchOptions o;
  o.out_dir = tmp / "out";
  std::ostringstream log;
  o.cases_path = tmp / "missing.jsonl";
  EXPECT_THROW(run_agent_bench(oracle, o, log), core::UserError);
  rlpp::test::write_plain(tmp / "junk.jsonl", "{}\nnot json\n");
  o.cases_path = tmp / "junk.jsonl";
  EXPECT_THROW(run_agent_bench(oracle, o, log), core::UserError);
  o.cases_path = fixture("cases.jsonl");
  o.trials = 0;
  EXPECT_THROW(run_agent_bench(oracle, o, log), core::UserError);
  // A FIFO with no writer would block the read forever; a device would never end.
  o.trials = 1;
  const std::string fifo = tmp / "cases.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& p : {fifo, std::string("/dev/zero")}) {
    o.cases_path = p;
    EXPECT_THROW(run_agent_bench(oracle, o, log), core::UserError) << p;
  }
  EXPECT_FALSE(fs::exists(o.out_dir));
}

// A server that never answers (nothing listening at --base-url).
class DeadModel : public ChatModel {
 public:
  json complete(const json&, const json&) override { throw ModelError("no response from http://127.0.0.1:9 (Connection)"); }
  std::string name() const override { return "dead"; }
};

TEST(AgentBench, NoSuccessfulRequestIsAnErrorAndLeavesNoDirectory) {
  TempDir tmp;
  DeadModel dead;
  BenchOptions o;
  o.cases_path = fixture("cases.jsonl");
  o.out_dir = tmp / "a/out";
  o.plots = false;
  std::ostringstream log;
  try {
    run_agent_bench(dead, o, log);
    ADD_FAILURE() << "no UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("none of the"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("http://127.0.0.1:9"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp / "a"));
}

TEST(AgentBench, StoppedRunLeavesNoDirectoryButKeepsAnExistingOne) {
  TempDir tmp;
  const auto cases = read_cases(fixture("cases.jsonl")).cases;
  OracleModel oracle(cases);
  BenchOptions o;
  o.cases_path = fixture("cases.jsonl");
  o.out_dir = tmp / "new/out";
  o.plots = false;
  std::ostringstream log;
  const std::atomic<bool> stop{true};
  EXPECT_FALSE(run_agent_bench(oracle, o, log, &stop).complete);
  EXPECT_FALSE(fs::exists(tmp / "new"));
  fs::create_directories(tmp / "mine");
  o.out_dir = tmp / "mine";
  EXPECT_FALSE(run_agent_bench(oracle, o, log, &stop).complete);
  EXPECT_TRUE(fs::is_directory(tmp / "mine"));
}

// ---- the command line ------------------------------------------------------------------------

struct Cli {
  int code = -1;
  std::string out, err;
};

Cli run_cli(const std::string& args, const TempDir& dir) {
  const std::string out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = std::string("cd ") + RLPP_SOURCE_DIR + " && " + RLPP_CLI + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

class AgentBenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(RLPP_CLI)) GTEST_SKIP() << "build rlpp_cli first: " << RLPP_CLI;
  }
};

TEST_F(AgentBenchCli, ScriptedOracleRun) {
  TempDir tmp;
  const Cli r = run_cli("agent-bench --cases tests/fixtures/harness/cases.jsonl --scripted oracle --no-plots --out " +
                            tmp / "run",
                        tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const json m = json::parse(slurp(tmp / "run/metrics.json"));
  EXPECT_DOUBLE_EQ(m["overall"]["args_acc"].get<double>(), 1.0);
  EXPECT_EQ(m["model"], "oracle");
  EXPECT_TRUE(fs::exists(tmp / "run/report.md"));
  EXPECT_TRUE(fs::exists(tmp / "run/transcripts.jsonl"));
  EXPECT_NE(r.err.find("agent-bench: 5/5 dialogues"), std::string::npos) << r.err;
}

TEST_F(AgentBenchCli, BadInputExitsTwoAndWritesNothing) {
  TempDir tmp;
  const std::string out = tmp / "run";
  struct Bad {
    std::string args, says;
  };
  const Bad bad[] = {
      {"--cases /nonexistent.jsonl --scripted oracle --out " + out, "cannot read case file '/nonexistent.jsonl'"},
      {"--cases tests/fixtures/harness/cases.jsonl --scripted oracle --trials 0 --out " + out, "--trials"},
      {"--cases tests/fixtures/harness/cases.jsonl --model tiny --out " + out, "--base-url is required"},
      {"--cases tests/fixtures/harness/cases.jsonl --base-url localhost:1 --model tiny --out " + out,
       "--base-url must start with http://"},
      {"--cases tests/fixtures/harness/cases.jsonl --scripted wizard --out " + out, "unknown model 'wizard'"},
      {"--cases tests/fixtures/harness/cases.jsonl --scripted oracle --bogus --out " + out, "bogus"},
  };
  for (const auto& b : bad) {
    const Cli r = run_cli("agent-bench " + b.args, tmp);
    EXPECT_EQ(r.code, 2) << b.args << "\n" << r.err;
    EXPECT_NE(r.err.find(b.says), std::string::npos) << b.args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(out)) << b.args;
  }
}

}  // namespace
}  // namespace rlpp::harness

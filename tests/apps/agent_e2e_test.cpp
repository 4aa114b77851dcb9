// End to end over loopback HTTP: the agent harness evaluates a model served by rlpp's server. The
// served "model" is a lookup table from every golden prompt of the one-task fixture dialogues to the
// golden assistant turn (env/agent/golden_trajectory.h), so a perfect score checks the whole chain —
// case file -> harness messages -> HTTP -> chat template with tools -> tokens -> completion text ->
// tool-call parsing -> OpenAI tool_calls -> step matching and argument scoring. A second model that
// answers one task with a function no case offers is scored by hand.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "rlpp/env/agent/golden_trajectory.h"
#include "rlpp/harness/case.h"
#include "rlpp/harness/http_chat_model.h"
#include "rlpp/harness/replay.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"
#include "rlpp/serve/server.h"
#include "serve/serve_test_util.h"
#include "common/temp_dir.h"

namespace rlpp {
namespace {

using nlohmann::json;

#ifdef RLPP_HAVE_HTTPLIB

using serve::testing::make_tokenizer;  // printable ASCII, the plain format's role tokens

// Answers a prompt it knows with its golden turn (then the end token), anything else with a text.
class LookupBackend final : public serve::Backend {
 public:
  explicit LookupBackend(std::map<std::string, std::string> table) : tok_(make_tokenizer()), table_(std::move(table)) {}
  std::vector<serve::RowOutput> generate(const serve::BatchSpec& batch) override {
    std::vector<serve::RowOutput> out;
    for (const serve::RowSpec& r : batch.rows) {
      std::string prompt = tok_->decode(r.prompt, /*skip_special=*/false);
      if (prompt.rfind("<bos>", 0) == 0) prompt = prompt.substr(5);
      const auto it = table_.find(prompt);
      serve::RowOutput o;
      o.tokens = tok_->encode(it == table_.end() ? "I am not sure." : it->second);
      if (it == table_.end()) ++misses;
      o.tokens.push_back(tok_->eos_id);
      o.stopped = static_cast<int64_t>(o.tokens.size()) <= r.max_new_tokens;
      if (!o.stopped) o.tokens.resize(static_cast<size_t>(r.max_new_tokens));
      out.push_back(std::move(o));
    }
    return out;
  }
  const nn::Tokenizer& tokenizer() const override { return *tok_; }
  int64_t context_length() const override { return 0; }
  int misses = 0;

 private:
  std::unique_ptr<nn::CharTokenizer> tok_;
  std::map<std::string, std::string> table_;
};

struct Served {
  std::shared_ptr<LookupBackend> backend;
  std::unique_ptr<serve::Server> server;
  explicit Served(std::map<std::string, std::string> table) {
    backend = std::make_shared<LookupBackend>(std::move(table));
    serve::ServerOptions o;
    o.port = 0;
    o.model_name = "golden";
    o.format.chat = nn::ChatFormat::kPlain;  // history rendered as the golden SFT prompts are
    o.format.add_bos = true;
    o.tool_style = nn::ToolStyle::kCompact;
    o.scheduler.batch_wait_ms = 2;
    o.limits.max_new_tokens = 512;
    server = std::make_unique<serve::Server>(backend, o);
    server->start();
  }
  harness::ReplayRun bench(const std::vector<harness::Case>& cases) {
    harness::HttpModelOptions h;
    h.base_url = "http://127.0.0.1:" + std::to_string(server->port());
    h.model = "golden";
    h.temperature = 0.0;
    h.max_tokens = 512;
    h.retries = 0;
    auto model = harness::make_http_chat_model(h);
    return harness::replay_all(*model, cases, /*trials=*/1, /*concurrency=*/4, harness::ReplayOptions{});
  }
};

TEST(AgentEndToEnd, HarnessScoresAServedModelOverLoopback) {
  testing::TempDir tmp("agent-e2e");
  // The fixture's one-task dialogues (later tasks start from the C³ text history, which the golden
  // SFT prompts do not reproduce).
  std::vector<json> one_task;
  std::ifstream in(std::string(RLPP_SOURCE_DIR) + "/tests/fixtures/agent/cases_small.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json c = json::parse(line);
    if (c.at("task").size() == 1) one_task.push_back(c);
  }
  ASSERT_GE(one_task.size(), 8u);
  const std::string path = tmp.sub("cases.jsonl");
  std::map<std::string, std::string> table;
  {
    std::ofstream out(path);
    for (const json& c : one_task) {
      out << c.dump() << "\n";
      for (const auto& ex : env::agent::golden_sft_examples(c, nn::ChatFormat::kPlain, nn::ToolStyle::kCompact))
        table[ex.prompt] = ex.response;
    }
  }
  const harness::CaseFile file = harness::read_cases(path);
  ASSERT_TRUE(file.problems.empty());
  ASSERT_EQ(file.cases.size(), one_task.size());

  Served golden(table);
  const harness::ReplayRun run = golden.bench(file.cases);
  ASSERT_EQ(run.results.size(), one_task.size());
  EXPECT_EQ(golden.backend->misses, 0);  // every request was a golden prompt, rendered identically
  for (const auto& r : run.results) {
    EXPECT_TRUE(r.action_ok) << r.case_id << ": " << r.detail;
    EXPECT_TRUE(r.args_ok) << r.case_id;
    EXPECT_TRUE(r.optimal) << r.case_id;
  }

  // The same server with the first tool-using case's first turn replaced by a call to a function
  // no case offers: that task fails as a hallucinated function name with progress 0; the rest pass.
  size_t target = 0;
  while (target < one_task.size() && one_task[target].at("type")[0] == "chat") ++target;
  ASSERT_LT(target, one_task.size());
  const auto first = env::agent::golden_sft_examples(one_task[target], nn::ChatFormat::kPlain, nn::ToolStyle::kCompact);
  std::map<std::string, std::string> broken = table;
  if (one_task[target].at("type")[0] == "clarify") {
    broken[first.at(1).prompt] = "<tool_call>\n{\"arguments\":{},\"name\":\"teleport\"}\n</tool_call>";
  } else {
    broken[first.at(0).prompt] = "<tool_call>\n{\"arguments\":{},\"name\":\"teleport\"}\n</tool_call>";
  }
  Served faulty(broken);
  const harness::ReplayRun run2 = faulty.bench(file.cases);
  int failed = 0;
  for (const auto& r : run2.results) {
    if (r.case_id == one_task[target].at("id")) {
      EXPECT_FALSE(r.action_ok);
      EXPECT_EQ(r.action_error, harness::ActionError::kNameHallucination);
      ++failed;
    } else {
      EXPECT_TRUE(r.args_ok) << r.case_id;
    }
  }
  EXPECT_EQ(failed, 1);
}

#else
TEST(AgentEndToEnd, HarnessScoresAServedModelOverLoopback) { GTEST_SKIP() << "built without cpp-httplib"; }
#endif

}  // namespace
}  // namespace rlpp

#include "rlpp/harness/case.h"

#include <gtest/gtest.h>

#include "core/test_util.h"
#include "harness/harness_test_util.h"
#include "rlpp/core/error.h"

namespace rlpp::harness {
namespace {

using nlohmann::json;
using test::fixture;

std::string minimal_case_text() {
  return json::parse(R"({"id": "m", "type": ["single_tool"], "task": ["t"],
    "messages": [{"role": "user", "content": "t"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
    "answer_list": [[{"idx": 0, "action": {"name": "f", "arguments": {}}, "observation": "ok", "dependency_list": []},
                     {"idx": 1, "action": {"name": "prepare_to_answer", "arguments": {"answer_type": "tool"}},
                      "observation": null, "dependency_list": [0]}]]})").dump();
}
json minimal_case() { return json::parse(minimal_case_text()); }

TEST(ReadCases, FixtureParses) {
  const CaseFile f = read_cases(fixture("cases.jsonl"));
  EXPECT_TRUE(f.problems.empty()) << f.problems.front().message;
  ASSERT_EQ(f.cases.size(), 5u);
  const Case& d4 = f.cases[3];
  EXPECT_EQ(d4.id, "d4-four");
  EXPECT_EQ(d4.line, 4);
  EXPECT_EQ(d4.type_path(), "multi_tool>chat>clarify>single_tool");
  EXPECT_EQ(d4.type_path(2), "multi_tool>chat");
  ASSERT_EQ(d4.tasks.size(), 4u);
  EXPECT_EQ(d4.tasks[2].type, TaskType::kClarify);
  EXPECT_EQ(d4.tasks[2].turn_type, TurnType::kTrue);
  EXPECT_EQ(d4.tasks[3].turn_subtypes, (std::vector<std::string>{"ellipsis", "long_term_memory"}));
  // Task 3's prompt: the date, the golden segments of tasks 1 and 2 (2 messages each), its own user turn.
  const json& p = d4.tasks[2].prompt;
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0], (json{{"role", "system"}, {"content", "You are a helpful assistant. Today is 2026-12-01 (Tuesday)."}}));
  EXPECT_EQ(p[1]["content"], "Find Carol's address and email her to say hi.");
  EXPECT_EQ(p[4]["content"], "You're welcome!");
  EXPECT_EQ(p[5]["content"], "Set up a meeting with her.");
  // Task 4 follows the whole clarify segment (4 messages).
  EXPECT_EQ(d4.tasks[3].prompt.size(), 1u + 2 + 2 + 4 + 1);
  // Nodes: dependency_list idx values become positions; the stored user answer is kept.
  const auto& clar = d4.tasks[2].nodes;
  EXPECT_EQ(clar[0].kind, NodeKind::kAskUser);
  EXPECT_EQ(clar[0].user_input, "Call it Sync, on 2026-12-02.");
  EXPECT_EQ(clar[1].deps, (std::vector<int>{0}));
  EXPECT_EQ(clar[2].kind, NodeKind::kPrepareToAnswer);
  EXPECT_EQ(f.cases[0].tasks[1].nodes[0].answer_type, "chat");
}

TEST(ReadCases, WithoutEnvInfoSystemMessage) {
  CaseReadOptions o;
  o.env_info_in_system = false;
  const CaseFile f = read_cases(fixture("cases.jsonl"), o);
  EXPECT_EQ(f.cases[0].tasks[0].prompt, (json::array({{{"role", "user"}, {"content", "What's the weather in Paris today?"}}})));
}

TEST(ReadCases, MalformedLinesAreReportedAndSkipped) {
  const CaseFile f = read_cases(fixture("bad_cases.jsonl"));
  ASSERT_EQ(f.cases.size(), 1u);
  EXPECT_EQ(f.cases[0].id, "d1-single-chat");
  EXPECT_EQ(f.cases[0].line, 6);
  ASSERT_EQ(f.problems.size(), 5u);
  struct Want {
    int line;
    const char* id;
    const char* says;
  };
  const Want want[] = {{1, "", "not JSON"},
                       {2, "cycle", "dependency cycle"},
                       {3, "unknown-tool", "'get_wether', which is not in 'tools'"},
                       {4, "no-observation", "lacks its 'observation'"},
                       {7, "type-count", "'type' must hold one entry per task (2)"}};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(f.problems[i].line, want[i].line);
    EXPECT_EQ(f.problems[i].id, want[i].id);
    EXPECT_NE(f.problems[i].message.find(want[i].says), std::string::npos) << f.problems[i].message;
  }
}

TEST(ReadCases, RepeatedIdIsReported) {
  rlpp::test::TempDir tmp;
  const std::string line = minimal_case_text();
  rlpp::test::write_plain(tmp / "dup.jsonl", line + "\n\n" + line + "\n");
  const CaseFile f = read_cases(tmp / "dup.jsonl");
  ASSERT_EQ(f.cases.size(), 1u);
  ASSERT_EQ(f.problems.size(), 1u);
  EXPECT_EQ(f.problems[0].line, 3);
  EXPECT_NE(f.problems[0].message.find("id repeats the case on line 1"), std::string::npos);
}

TEST(ReadCases, UnreadableFileIsAUserError) {
  EXPECT_THROW(read_cases("/nonexistent/cases.jsonl"), core::UserError);
}


void expect_rejected(const json& j, const std::string& says) {
  try {
    parse_case(j, 1);
    ADD_FAILURE() << "accepted; expected: " << says;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(ParseCase, EachProblemIsNamed) {
  EXPECT_NO_THROW(parse_case(minimal_case(), 1));
  json j = minimal_case();
  j["answer_list"][0][1]["dependency_list"] = {5};
  expect_rejected(j, "names idx 5");
  j = minimal_case();
  j["answer_list"][0][1]["idx"] = 0;
  expect_rejected(j, "repeats an earlier node");
  j = minimal_case();
  j["answer_list"][0].erase(1);
  expect_rejected(j, "exactly one prepare_to_answer");
  j = minimal_case();
  j["answer_list"][0][0]["action"] = {{"name", "ask_user_for_required_parameters"}, {"arguments", json::object()}};
  expect_rejected(j, "needs the stored 'user_input'");
  j = minimal_case();
  j["type"] = {"singel"};
  expect_rejected(j, "unknown task type 'singel'");
  j = minimal_case();
  j["messages"] = json::array({{{"role", "robot"}, {"content", "x"}}});
  expect_rejected(j, "unknown role 'robot'");
  j = minimal_case();
  j.erase("tools");
  expect_rejected(j, "'tools' must be an array");
}

TEST(SystemText, WeekdayFromTheDate) {
  // Calendar facts: 2026-12-01 is a Tuesday, 2000-02-29 a Tuesday, 1970-01-01 a Thursday.
  EXPECT_EQ(system_text_for_env_info("2026-12-01 10:00:00 Tuesday"), "You are a helpful assistant. Today is 2026-12-01 (Tuesday).");
  EXPECT_EQ(system_text_for_env_info("2000-02-29"), "You are a helpful assistant. Today is 2000-02-29 (Tuesday).");
  EXPECT_EQ(system_text_for_env_info("1970-01-01"), "You are a helpful assistant. Today is 1970-01-01 (Thursday).");
  EXPECT_EQ(system_text_for_env_info("2025-02-29"), "You are a helpful assistant. Current date: 2025-02-29.");
  EXPECT_EQ(system_text_for_env_info("tomorrow"), "You are a helpful assistant. Current date: tomorrow.");
}

TEST(TaskType, NamesAndSpellings) {
  EXPECT_EQ(task_type_from_name("Single-Tool"), TaskType::kSingleTool);
  EXPECT_EQ(task_type_from_name("multiple tools"), TaskType::kMultiTool);
  EXPECT_EQ(task_type_from_name("clarify"), TaskType::kClarify);
  EXPECT_EQ(task_type_from_name("chat"), TaskType::kChat);
  EXPECT_EQ(task_type_name(TaskType::kMultiTool), "multi_tool");
  EXPECT_THROW(task_type_from_name("other"), std::invalid_argument);
}

}  // namespace
}  // namespace rlpp::harness

#include "rlpp/harness/replay.h"

#include <gtest/gtest.h>

#include "harness/harness_test_util.h"
#include "rlpp/harness/scripted_model.h"

namespace rlpp::harness {
namespace {

using nlohmann::json;
using test::fixture;

std::vector<Case> fixture_cases() { return read_cases(fixture("cases.jsonl")).cases; }

const Case& by_id(const std::vector<Case>& cs, const std::string& id) {
  for (const auto& c : cs)
    if (c.id == id) return c;
  throw std::runtime_error("no case " + id);
}

json call(const std::string& name, const json& args) {
  return {{"type", "function"}, {"function", {{"name", name}, {"arguments", args}}}};
}
json calls(std::vector<json> cs) {
  for (size_t i = 0; i < cs.size(); ++i) cs[i]["id"] = "f" + std::to_string(i);
  return {{"role", "assistant"}, {"content", ""}, {"tool_calls", cs}};
}
json text(const std::string& s) { return {{"role", "assistant"}, {"content", s}}; }

TEST(Replay, OracleSolvesEveryTaskOnAnOptimalPath) {
  const auto cases = fixture_cases();
  OracleModel oracle(cases);
  int n = 0;
  for (const auto& c : cases)
    for (const auto& r : replay_case(oracle, c, 0, {})) {
      ++n;
      EXPECT_TRUE(r.action_ok && r.args_ok && r.optimal) << c.id << " task " << r.position << ": " << r.detail;
      EXPECT_DOUBLE_EQ(r.progress, 1.0);
      EXPECT_EQ(r.steps_done, r.min_steps);
    }
  EXPECT_EQ(n, 10);
}

TEST(Replay, RequestsCarryTheGoldenHistoryAndStoredObservations) {
  const auto cases = fixture_cases();
  OracleModel oracle(cases);
  std::vector<json> lines;
  const auto r = replay_task(oracle, by_id(cases, "d4-four"), 2, 0, {}, [&](const json& l) { lines.push_back(l); });
  ASSERT_TRUE(r.args_ok);
  // clarify task: ask (text) -> stored user answer -> create_event -> answer: 3 requests.
  ASSERT_EQ(lines.size(), 3u);
  const json& m1 = lines[1]["request"]["messages"];
  ASSERT_EQ(m1.size(), 8u);  // 6 prompt messages + the question + the stored answer
  EXPECT_EQ(m1[7], (json{{"role", "user"}, {"content", "Call it Sync, on 2026-12-02."}}));
  const json& m2 = lines[2]["request"]["messages"];
  ASSERT_EQ(m2.size(), 10u);
  EXPECT_EQ(m2[9]["role"], "tool");
  EXPECT_EQ(m2[9]["tool_call_id"], m2[8]["tool_calls"][0]["id"]);
  EXPECT_EQ(json::parse(m2[9]["content"].get<std::string>()), (json{{"event_id", 5}, {"status", "created"}}));
  EXPECT_EQ(lines[0]["request"]["tools"].size(), 6u);
}

TEST(Replay, SameNamedParallelCallsGetTheirOwnObservations) {
  // London first, then Paris (a valid serial path): each call must see its own city's weather.
  const auto cases = fixture_cases();
  std::map<std::string, json> faults{
      {fault_key("d5-parallel", 0, 0), calls({call("get_weather", {{"city", "London"}})})},
      {fault_key("d5-parallel", 0, 1), calls({call("get_weather", {{"city", "Paris"}})})}};
  OracleModel model(cases, faults);
  std::vector<json> lines;
  const auto r = replay_task(model, by_id(cases, "d5-parallel"), 0, 0, {}, [&](const json& l) { lines.push_back(l); });
  EXPECT_TRUE(r.action_ok && r.args_ok);
  EXPECT_FALSE(r.optimal);  // 3 steps where 2 suffice
  EXPECT_EQ(r.steps_done, 3);
  EXPECT_EQ(r.min_steps, 2);
  EXPECT_EQ(r.n_paths, 2);  // {w,w}|answer and w|w|answer
  const json& m = lines[2]["request"]["messages"];
  EXPECT_NE(m[m.size() - 3]["content"].get<std::string>().find("London"), std::string::npos);
  EXPECT_NE(m[m.size() - 1]["content"].get<std::string>().find("Paris"), std::string::npos);
}

struct FaultCase {
  const char* id;
  int task, step;
  json reply;
  ActionError want;
  int steps_done;
  double progress;  // steps_done / (steps_done + shortest remaining)
};

TEST(Replay, ActionErrorsAreClassified) {
  const auto cases = fixture_cases();
  const FaultCase table[] = {
      // weather due, the model only talks: nothing done yet.
      {"d1-single-chat", 0, 0, text("It is sunny."), ActionError::kRejectToolCalling, 0, 0.0},
      // d2's optimal path: {get_contact, get_weather} | send_email | answer. Text after step 1.
      {"d2-combined", 0, 1, text("Done."), ActionError::kEarlyStop, 1, 1.0 / 3.0},
      {"d2-combined", 0, 0, calls({call("get_wether", {{"city", "Rome"}})}), ActionError::kNameHallucination, 0, 0.0},
      // the order id is missing: the user must be asked first.
      {"d3-clarify-single", 0, 0, calls({call("cancel_order", {{"order_id", 1}})}), ActionError::kMissingInformation, 0, 0.0},
      // chat task: no tool is needed.
      {"d1-single-chat", 1, 0, calls({call("get_weather", {{"city", "Paris"}})}), ActionError::kCallWithoutNeed, 0, 0.0},
      // the answer is due after the weather call; calling again is redundant.
      {"d1-single-chat", 0, 1, calls({call("get_weather", {{"city", "Paris"}})}), ActionError::kRedundantCall, 1, 0.5},
      // a superset of the due parallel step.
      {"d2-combined", 0, 0,
       calls({call("get_contact", {{"name", "Alice"}}), call("get_weather", {{"city", "Rome"}}),
              call("send_email", {{"to", "alice@example.com"}, {"subject", "x"}})}),
       ActionError::kRedundantCall, 0, 0.0},
      {"d2-combined", 0, 0, calls({call("send_email", {{"to", "alice@example.com"}, {"subject", "x"}})}),
       ActionError::kWrongFunction, 0, 0.0},
  };
  for (const auto& f : table) {
    OracleModel model(cases, {{fault_key(f.id, f.task, f.step), f.reply}});
    const auto r = replay_task(model, by_id(cases, f.id), f.task, 0, {});
    EXPECT_FALSE(r.action_ok);
    EXPECT_FALSE(r.args_ok);
    EXPECT_EQ(action_error_name(r.action_error), std::string(action_error_name(f.want))) << f.id << " " << r.detail;
    EXPECT_EQ(r.steps_done, f.steps_done) << f.id;
    EXPECT_NEAR(r.progress, f.progress, 1e-12) << f.id;
  }
}

TEST(Replay, ArgumentErrorsKeepTheActionCorrect) {
  const auto cases = fixture_cases();
  // Lyon without the date: keys {city: 1, date: missing (optional) -> 0} = 0.5 < 0.7.
  OracleModel model(cases, {{fault_key("d4-four", 3, 0), calls({call("get_weather", {{"city", "Lyon"}})})}});
  const auto r = replay_task(model, by_id(cases, "d4-four"), 3, 0, {});
  EXPECT_TRUE(r.action_ok);
  EXPECT_FALSE(r.args_ok);
  ASSERT_EQ(r.call_scores.size(), 1u);
  EXPECT_DOUBLE_EQ(r.call_scores[0], 0.5);
  EXPECT_EQ(r.arg_errors, (std::vector<ArgError>{ArgError::kValueError}));
  // A made-up recipient in the serial task: {to: hallucinated 0, subject: 1} = 0.5.
  OracleModel model2(cases, {{fault_key("d4-four", 0, 1),
                              calls({call("send_email", {{"to", "dave@example.net"}, {"subject", "Hi"}})})}});
  const auto r2 = replay_task(model2, by_id(cases, "d4-four"), 0, 0, {});
  EXPECT_TRUE(r2.action_ok);
  EXPECT_EQ(r2.arg_errors, (std::vector<ArgError>{ArgError::kValueHallucination}));
}

TEST(Replay, LaterTasksRestartFromTheGoldenHistory) {
  const auto cases = fixture_cases();
  OracleModel model(cases, {{fault_key("d1-single-chat", 0, 0), text("no")}});
  const auto rs = replay_case(model, by_id(cases, "d1-single-chat"), 0, {});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_FALSE(rs[0].action_ok);
  EXPECT_TRUE(rs[1].action_ok);
  EXPECT_EQ(rs[1].prefix, "single_tool>chat");
}

class FailingModel : public ChatModel {
 public:
  json complete(const json&, const json&) override { throw ModelError("connection refused"); }
  std::string name() const override { return "down"; }
};

TEST(Replay, RequestFailuresAreRecorded) {
  const auto cases = fixture_cases();
  FailingModel m;
  const auto r = replay_task(m, cases[0], 0, 0, {});
  EXPECT_EQ(r.action_error, ActionError::kRequestFailed);
  EXPECT_NE(r.detail.find("connection refused"), std::string::npos);
}

TEST(Replay, ConcurrentRunsAreOrderedAndIdentical) {
  const auto cases = fixture_cases();
  OracleModel model(cases, {{fault_key("d2-combined", 0, 1), text("Done.")}});
  const auto serial = replay_all(model, cases, 2, 1, {});
  const auto parallel = replay_all(model, cases, 2, 4, {});
  ASSERT_EQ(serial.results.size(), 20u);
  ASSERT_EQ(parallel.results.size(), 20u);
  EXPECT_EQ(serial.transcript.size(), parallel.transcript.size());
  for (size_t i = 0; i < serial.results.size(); ++i) {
    EXPECT_EQ(serial.results[i].case_id, parallel.results[i].case_id);
    EXPECT_EQ(serial.results[i].position, parallel.results[i].position);
    EXPECT_EQ(serial.results[i].trial, parallel.results[i].trial);
    EXPECT_EQ(serial.results[i].action_ok, parallel.results[i].action_ok);
  }
  EXPECT_EQ(serial.results[10].trial, 1);
  for (size_t i = 0; i < serial.transcript.size(); ++i)
    EXPECT_EQ(serial.transcript[i]["request"], parallel.transcript[i]["request"]);
}

}  // namespace
}  // namespace rlpp::harness

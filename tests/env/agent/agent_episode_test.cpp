#include "rlpp/env/agent/agent_episode.h"

#include <gtest/gtest.h>

#include "env/agent/hand_case.h"
#include "rlpp/core/error.h"
#include "rlpp/env/agent/case_generator.h"
#include "rlpp/env/agent/golden_trajectory.h"

namespace rlpp::env::agent {
namespace {

using json = nlohmann::json;
using testing::hand_case;

// Assistant turns written by hand (spacing as a model might write it; the parser reads JSON).
std::string call(const std::string& name, const std::string& args) {
  return "<tool_call>\n{\"name\": \"" + name + "\", \"arguments\": " + args + "}\n</tool_call>";
}
const std::string kWeatherParis = call("get_weather", R"({"city": "Paris", "date": "2026-03-05"})");
const std::string kSearchAlice = call("search_contacts", R"({"name": "Alice"})");
const std::string kContact = call("get_contact", R"({"contact_id": "C101"})");
const std::string kAnswer0 = "Paris is sunny; Alice's email is alice@example.com.";
const std::string kAsk = "Which date should I use?";
const std::string kWeatherOslo = call("get_weather", R"({"city": "Oslo", "date": "2026-03-06"})");
const std::string kAnswer1 = "Oslo: rain.";
const std::string kChat = "You're welcome!";

std::vector<std::string> golden_turns() {
  return {kWeatherParis + "\n" + kSearchAlice, kContact, kAnswer0, kAsk, kWeatherOslo, kAnswer1, kChat};
}

AgentEpisode play(const std::vector<std::string>& turns) {
  AgentEpisode ep(hand_case());
  for (const auto& t : turns) {
    EXPECT_FALSE(ep.done()) << t;
    if (!ep.done()) ep.act(t);
  }
  return ep;
}

TEST(AgentEpisode, GoldenTrajectoryGetsTheMaximumReward) {
  AgentEpisode ep(hand_case());
  EXPECT_EQ(ep.observe().size(), 2u);  // system, first request
  EXPECT_EQ(ep.observe()[1].content, "Weather in Paris on 2026-03-05, and Alice's email?");
  const ActResult r0 = ep.act(golden_turns()[0]);
  EXPECT_EQ(r0.tool_calls, 2);
  EXPECT_FALSE(r0.task_ended);
  // the tool responses are the live world's answers
  WorldState w = make_world(5);
  EXPECT_EQ(ep.observe()[3].content,
            "<tool_response>\n" + execute_tool(&w, "get_weather", {{"city", "Paris"}, {"date", "2026-03-05"}}) + "\n</tool_response>");
  EXPECT_EQ(ep.observe()[4].role, "tool");
  ep.act(kContact);
  EXPECT_TRUE(ep.act(kAnswer0).task_ended);
  EXPECT_EQ(ep.observe().back().content, "What's the weather in Oslo?");
  EXPECT_FALSE(ep.act(kAsk).task_ended);
  EXPECT_EQ(ep.observe().back().role, "user");
  EXPECT_EQ(ep.observe().back().content, "On 2026-03-06.");  // the stored answer
  ep.act(kWeatherOslo);
  ep.act(kAnswer1);
  EXPECT_EQ(ep.current_task(), 2);
  EXPECT_TRUE(ep.act(kChat).done);
  EXPECT_TRUE(ep.done());
  for (const auto& o : ep.outcomes()) EXPECT_TRUE(o.solved) << o.failure;
  EXPECT_EQ(ep.calls(), 4);
  EXPECT_EQ(ep.valid_calls(), 4);
  EXPECT_DOUBLE_EQ(ep.reward(), 1.0);
  EXPECT_EQ(ep.messages()[2].at("tool_calls").size(), 2u);
  EXPECT_THROW(ep.act("more"), core::UserError);
}

TEST(AgentEpisode, AnotherTopologicalOrderAlsoSolves) {
  // search first, then the weather in parallel with get_contact; case and spacing of values differ
  const auto ep = play({kSearchAlice, call("get_weather", R"({"city": "paris ", "date": "2026-03-05"})") + kContact, kAnswer0, kAsk,
                        kWeatherOslo, kAnswer1, kChat});
  EXPECT_TRUE(ep.done());
  EXPECT_DOUBLE_EQ(ep.reward(), 1.0);
}

// reward = 0.7 * solved / 3 + 0.3 * valid calls / calls, computed by hand below
TEST(AgentEpisode, WrongTool) {
  const auto ep = play({call("get_order", R"({"order_id": "O301"})"), "Done.", kAsk, kWeatherOslo, kAnswer1, kChat});
  EXPECT_EQ(ep.outcomes()[0].failure, "wrong_function");
  EXPECT_FALSE(ep.outcomes()[0].solved);
  EXPECT_TRUE(ep.outcomes()[1].solved && ep.outcomes()[2].solved);
  EXPECT_NEAR(ep.reward(), 0.7 * 2.0 / 3.0 + 0.3 * 2.0 / 2.0, 1e-12);
}

TEST(AgentEpisode, MissingArgument) {
  const auto ep = play({golden_turns()[0], kContact, kAnswer0, kAsk, call("get_weather", R"({"city": "Oslo"})"), kAnswer1, kChat});
  EXPECT_EQ(ep.outcomes()[1].failure, "wrong_arguments");
  EXPECT_EQ(ep.calls(), 4);
  EXPECT_EQ(ep.valid_calls(), 3);
  EXPECT_NEAR(ep.reward(), 0.7 * 2.0 / 3.0 + 0.3 * 3.0 / 4.0, 1e-12);
}

TEST(AgentEpisode, EarlyStop) {
  const auto ep = play({golden_turns()[0], "Paris is sunny.", kAsk, kWeatherOslo, kAnswer1, kChat});
  EXPECT_EQ(ep.outcomes()[0].failure, "early_stop");
  EXPECT_TRUE(ep.done());
  EXPECT_NEAR(ep.reward(), 0.7 * 2.0 / 3.0 + 0.3 * 3.0 / 3.0, 1e-12);
}

TEST(AgentEpisode, StoppingEverywhereScoresOnlyTheChatTask) {
  // task 1: the first text reply counts as the question, the second ends the task early
  const auto ep = play({"Sorry.", "Sorry.", "Sorry.", kChat});
  EXPECT_TRUE(ep.done());
  // no calls in a dialogue that needs them: the call term is 0
  EXPECT_NEAR(ep.reward(), 0.7 * 1.0 / 3.0 + 0.3 * 0.0, 1e-12);
}

TEST(AgentEpisode, CallingBeforeAskingFails) {
  const auto ep = play({golden_turns()[0], kContact, kAnswer0, kWeatherOslo, kAnswer1, kChat});
  EXPECT_EQ(ep.outcomes()[1].failure, "call_before_asking");
  EXPECT_NEAR(ep.reward(), 0.7 * 2.0 / 3.0 + 0.3, 1e-12);
}

TEST(AgentEpisode, HallucinatedFunctionAndMalformedBlock) {
  const auto ep = play({call("book_flight", "{}"), "Sorry.", kAsk, kWeatherOslo, kAnswer1, "<tool_call>{oops</tool_call>"});
  EXPECT_EQ(ep.outcomes()[0].failure, "hallucinated_function");
  EXPECT_EQ(ep.outcomes()[2].failure, "malformed_call");
  EXPECT_EQ(ep.calls(), 3);
  EXPECT_EQ(ep.valid_calls(), 1);
  // the unknown function's observation is an error, not a crash
  EXPECT_NE(ep.observe()[3].content.find("unknown tool 'book_flight'"), std::string::npos);
  EXPECT_NEAR(ep.reward(), 0.7 * 1.0 / 3.0 + 0.3 * 1.0 / 3.0, 1e-12);
}

TEST(AgentEpisode, DependentCallInTheSameMessageFails) {
  const auto ep = play({kWeatherParis + kSearchAlice + kContact, kAnswer0, kAsk, kWeatherOslo, kAnswer1, kChat});
  EXPECT_EQ(ep.outcomes()[0].failure, "wrong_function");
  EXPECT_NEAR(ep.reward(), 0.7 * 2.0 / 3.0 + 0.3, 1e-12);
}

TEST(AgentEpisode, EndlessCallsAreCutOff) {
  // the chat task allows 0 + 1 + 2 extra = 3 turns
  const auto ep = play({golden_turns()[0], kContact, kAnswer0, kAsk, kWeatherOslo, kAnswer1, kWeatherOslo, kWeatherOslo, kWeatherOslo});
  EXPECT_TRUE(ep.done());
  EXPECT_EQ(ep.outcomes()[2].failure, "wrong_function");
  EXPECT_NEAR(ep.reward(), 0.7 * 2.0 / 3.0 + 0.3, 1e-12);
}

TEST(AgentEpisode, SpansSeparateModelTextFromEnvironmentText) {
  const auto ep = play(golden_turns());
  for (auto format : {nn::ChatFormat::kPlain, nn::ChatFormat::kChatml}) {
    const auto spans = episode_spans(ep.turns(), format);
    std::string all;
    std::vector<std::string> model;
    for (const auto& s : spans) {
      all += s.text;
      if (s.from_model) model.push_back(s.text);
    }
    EXPECT_EQ(all, nn::apply_chat_template(format, ep.observe(), false));
    ASSERT_EQ(model.size(), golden_turns().size());
    for (size_t i = 0; i < model.size(); ++i)
      EXPECT_EQ(model[i], format == nn::ChatFormat::kPlain ? golden_turns()[i] : golden_turns()[i] + "<|im_end|>\n");
  }
}

// The golden trajectory (golden_trajectory.h) played in the live world solves every generated case,
// and the world answers each golden call with the stored observation.
TEST(AgentEpisode, GoldenTrajectoriesSolveGeneratedCases) {
  GeneratorOptions o;
  o.seed = 3;
  o.min_tasks = 3;
  o.max_tasks = 3;
  for (const json& c : generate_cases(o)) {
    AgentEpisode ep(c);
    const json golden = golden_messages(c);
    const auto chat = nn::chat_messages_with_tools(golden, c.at("tools"), nn::ToolStyle::kCompact);
    for (size_t k = 0; k < chat.size(); ++k) {
      if (chat[k].role != "assistant") continue;
      ASSERT_FALSE(ep.done()) << c.at("id");
      ep.act(chat[k].content);
    }
    ASSERT_TRUE(ep.done()) << c.at("id");
    EXPECT_DOUBLE_EQ(ep.reward(), 1.0) << c.at("id");
    EXPECT_EQ(ep.observe().size(), chat.size()) << c.at("id");
    for (size_t k = 0; k < chat.size(); ++k) EXPECT_EQ(ep.observe()[k].content, chat[k].content) << c.at("id") << " turn " << k;
  }
}

TEST(AgentEpisode, FreshlyGeneratedAndBadCases) {
  AgentEpisode ep = AgentEpisode::generated({TaskType::kChat, TaskType::kSingleTool}, 9);
  EXPECT_EQ(ep.num_tasks(), 2);
  json c = hand_case();
  c.erase("world_seed");
  EXPECT_THROW(AgentEpisode{c}, core::UserError);
  c = hand_case();
  c["answer_list"][0][0]["observation"] = "";
  EXPECT_THROW(AgentEpisode{c}, core::UserError);
}

}  // namespace
}  // namespace rlpp::env::agent

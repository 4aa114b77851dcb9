#include "rlpp/env/agent/golden_trajectory.h"

#include <gtest/gtest.h>

#include "env/agent/hand_case.h"
#include "rlpp/core/error.h"
#include "rlpp/env/agent/case_generator.h"

namespace rlpp::env::agent {
namespace {

using json = nlohmann::json;
using testing::hand_case;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const std::string kSystem =
    "<|system|>You are a helpful assistant. Today is 2026-03-04 (Wednesday).\n\n<tools>\nsearch_contacts(name:string)\n"
    "get_contact(contact_id:string)\nget_order(order_id:string)\nget_weather(city:string,date:string)\n</tools>";
const std::string kTask0 = "<|user|>Weather in Paris on 2026-03-05, and Alice's email?";
const std::string kCallsStep1 =
    "<tool_call>\n{\"arguments\":{\"city\":\"Paris\",\"date\":\"2026-03-05\"},\"name\":\"get_weather\"}\n</tool_call>\n"
    "<tool_call>\n{\"arguments\":{\"name\":\"Alice\"},\"name\":\"search_contacts\"}\n</tool_call>";
const std::string kCallStep2 = "<tool_call>\n{\"arguments\":{\"contact_id\":\"C101\"},\"name\":\"get_contact\"}\n</tool_call>";

TEST(GoldenTrajectory, HandCaseMessagesInOrder) {
  const json m = golden_messages(hand_case());
  std::vector<std::string> roles;
  for (const json& x : m) roles.push_back(x.at("role"));
  const std::vector<std::string> expected = {"system", "user",      "assistant", "tool", "tool",      "assistant", "tool",  "assistant",
                                             "user",   "assistant", "user",      "assistant", "tool", "assistant", "user", "assistant"};
  EXPECT_EQ(roles, expected);
  EXPECT_EQ(m[2].at("tool_calls").size(), 2u);  // the parallel step is one message
  EXPECT_EQ(m[3].at("tool_call_id"), "call_0");
  EXPECT_EQ(m[4].at("tool_call_id"), "call_1");
  EXPECT_EQ(m[6].at("tool_call_id"), "call_2");
  EXPECT_EQ(m[6].at("content"), "{\"email\":\"alice@example.com\"}");
  EXPECT_EQ(m[9].at("content"), "For which date?");
  EXPECT_EQ(m[10].at("content"), "On 2026-03-06.");
  EXPECT_EQ(m[11].at("tool_calls")[0].at("id"), "call_3");
  EXPECT_EQ(m[15].at("content"), "You're welcome!");
}

TEST(GoldenTrajectory, SftExamplesInPlainFormatWithCompactTools) {
  const auto ex = golden_sft_examples(hand_case(), nn::ChatFormat::kPlain, nn::ToolStyle::kCompact);
  ASSERT_EQ(ex.size(), 7u);
  EXPECT_EQ(ex[0].prompt, kSystem + kTask0 + "<|assistant|>");
  EXPECT_EQ(ex[0].response, kCallsStep1);
  EXPECT_EQ(ex[1].prompt, kSystem + kTask0 + "<|assistant|>" + kCallsStep1 + "<|tool|><tool_response>\n{\"forecast\":\"sunny\"}\n</tool_response>" +
                              "<|tool|><tool_response>\n{\"contacts\":[]}\n</tool_response><|assistant|>");
  EXPECT_EQ(ex[1].response, kCallStep2);
  EXPECT_EQ(ex[2].response, "Paris: sunny. Alice: alice@example.com.");
  EXPECT_EQ(ex[3].response, "For which date?");
  EXPECT_TRUE(ends_with(ex[4].prompt, "<|assistant|>For which date?<|user|>On 2026-03-06.<|assistant|>"));
  EXPECT_EQ(ex[4].response, "<tool_call>\n{\"arguments\":{\"city\":\"Oslo\",\"date\":\"2026-03-06\"},\"name\":\"get_weather\"}\n</tool_call>");
  EXPECT_EQ(ex[5].response, "Oslo: rain.");
  EXPECT_EQ(ex[6].response, "You're welcome!");
  EXPECT_TRUE(ends_with(ex[6].prompt, "<|user|>Thanks!<|assistant|>"));
  // each prompt extends the previous one by the previous response and what the environment added
  for (size_t k = 1; k < ex.size(); ++k) EXPECT_EQ(ex[k].prompt.rfind(ex[k - 1].prompt + ex[k - 1].response, 0), 0u);
  EXPECT_EQ(json::parse(sft_jsonl_line(ex[3])), (json{{"prompt", ex[3].prompt}, {"response", "For which date?"}}));
}

TEST(GoldenTrajectory, ChatmlAndFullToolsToo) {
  const auto ex = golden_sft_examples(hand_case(), nn::ChatFormat::kChatml, nn::ToolStyle::kFull);
  ASSERT_EQ(ex.size(), 7u);
  EXPECT_EQ(ex[0].prompt.rfind("<|im_start|>system\nYou are a helpful assistant.", 0), 0u);
  EXPECT_NE(ex[0].prompt.find("You are provided with function signatures within <tools></tools> XML tags"), std::string::npos);
  EXPECT_TRUE(ends_with(ex[0].prompt, "<|im_start|>assistant\n"));
}

TEST(GoldenTrajectory, OneExamplePerGoldenTurnOnGeneratedCases) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const json c = generate_case({TaskType::kClarify, TaskType::kMultiTool, TaskType::kChat, TaskType::kSingleTool}, seed, "g");
    // turns a perfect agent takes per task: the question (clarify), one per dependency depth level of
    // the tool calls, the answer — depth computed here from dependency_list directly
    size_t turns = 0;
    for (const json& nodes : c.at("answer_list")) {
      std::vector<int> depth(nodes.size(), 0);
      int max_depth = 0;
      for (size_t i = 0; i < nodes.size(); ++i) {
        const std::string name = nodes[i].at("action").at("name");
        if (name == "ask_user_for_required_parameters") ++turns;
        if (name == "ask_user_for_required_parameters" || name == "prepare_to_answer") continue;
        for (const json& d : nodes[i].at("dependency_list")) depth[i] = std::max(depth[i], depth[d.get<size_t>()]);
        depth[i] += 1;  // (the ask node has depth 0)
        max_depth = std::max(max_depth, depth[i]);
      }
      turns += static_cast<size_t>(max_depth) + 1;
    }
    EXPECT_EQ(golden_sft_examples(c, nn::ChatFormat::kPlain, nn::ToolStyle::kCompact).size(), turns) << seed;
  }
}

TEST(GoldenTrajectory, RejectsAMalformedCase) {
  json c = hand_case();
  c["answer_list"][0][2]["action"]["name"] = "nope";
  EXPECT_THROW(golden_messages(c), core::UserError);
}

}  // namespace
}  // namespace rlpp::env::agent

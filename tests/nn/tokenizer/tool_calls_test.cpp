// Tool-call text format: expected strings are written out by hand from the format in tool_calls.h.
#include "rlpp/nn/tokenizer/tool_calls.h"

#include <gtest/gtest.h>

#include "rlpp/core/error.h"

namespace rlpp::nn {
namespace {

using nlohmann::json;

json weather_tools() {
  return json::parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "w",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                     "required": ["city"]}}},
     {"type": "function", "function": {"name": "now"}}])");
}

TEST(ToolCalls, RendersCallsWithSortedCompactArguments) {
  ToolCall a{"", "get_weather", json{{"days", 2}, {"city", "Oslo"}}};
  ToolCall b{"", "now", json::object()};
  EXPECT_EQ(render_tool_calls({a, b}),
            "<tool_call>\n{\"arguments\":{\"city\":\"Oslo\",\"days\":2},\"name\":\"get_weather\"}\n</tool_call>\n"
            "<tool_call>\n{\"arguments\":{},\"name\":\"now\"}\n</tool_call>");
}

TEST(ToolCalls, ParsesContentAndParallelCalls) {
  const auto r = parse_assistant_reply(
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n"
      "<tool_call>{\"name\":\"now\"}</tool_call>", 3);
  EXPECT_EQ(r.content, "Let me check.");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].id, "call_3");
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.tool_calls[0].arguments, json({{"city", "Oslo"}}));
  EXPECT_EQ(r.tool_calls[1].id, "call_4");
  EXPECT_EQ(r.tool_calls[1].arguments, json::object());
  EXPECT_TRUE(r.errors.empty());
}

TEST(ToolCalls, RoundTripsRenderedCalls) {
  ToolCall a{"", "f", json{{"x", json::array({1, "two", 3.5})}, {"y", json{{"z", nullptr}}}}};
  const auto r = parse_assistant_reply(render_tool_calls({a}));
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].arguments, a.arguments);
  EXPECT_EQ(r.content, "");
}

TEST(ToolCalls, MalformedBlocksAreErrorsNotCalls) {
  auto r = parse_assistant_reply("a<tool_call>{not json}</tool_call>b");
  EXPECT_TRUE(r.tool_calls.empty());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.content, "a<tool_call>{not json}</tool_call>b");
  r = parse_assistant_reply("<tool_call>{\"arguments\": {}}</tool_call>");
  EXPECT_EQ(r.errors.size(), 1u);
  r = parse_assistant_reply("<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>");
  EXPECT_EQ(r.errors.size(), 1u);
  r = parse_assistant_reply("x <tool_call>{\"name\": \"f\"}");
  EXPECT_EQ(r.errors, std::vector<std::string>{"unclosed <tool_call> block"});
  EXPECT_EQ(r.content, "x <tool_call>{\"name\": \"f\"}");
  EXPECT_TRUE(r.tool_calls.empty());
}

TEST(ToolCalls, CompactToolsListRequiredAndOptionalParameters) {
  EXPECT_EQ(render_tools(weather_tools(), ToolStyle::kCompact),
            "<tools>\nget_weather(city:string,days?:integer)\nnow()\n</tools>");
}

TEST(ToolCalls, FullToolsEmbedEachSchema) {
  const std::string text = render_tools(weather_tools(), ToolStyle::kFull);
  EXPECT_NE(text.find("<tools>\n" + weather_tools()[0].dump() + "\n" + weather_tools()[1].dump() + "\n</tools>"),
            std::string::npos);
  EXPECT_EQ(text.rfind("# Tools\n", 0), 0u);
}

TEST(ToolCalls, InvalidToolSchemasAreRefused) {
  for (const char* bad : {R"({"type": "function"})", R"([{"type": "fn", "function": {"name": "f"}}])",
                          R"([{"type": "function", "function": {"name": ""}}])",
                          R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}])",
                          R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
                               "properties": {"a": {}}, "required": ["b"]}}}])"}) {
    EXPECT_THROW(validate_tools(json::parse(bad)), core::UserError) << bad;
  }
  EXPECT_NO_THROW(validate_tools(weather_tools()));
}

TEST(ToolCalls, OpenAiMessagesBecomeChatTurns) {
  const json messages = json::parse(R"([
    {"role": "user", "content": "Weather in Oslo?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
       "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "{\"temp\": 3}"},
    {"role": "assistant", "content": "3 degrees."}])");
  const auto turns = chat_messages_with_tools(messages, weather_tools(), ToolStyle::kCompact);
  ASSERT_EQ(turns.size(), 5u);
  EXPECT_EQ(turns[0].role, "system");
  EXPECT_EQ(turns[0].content, "<tools>\nget_weather(city:string,days?:integer)\nnow()\n</tools>");
  EXPECT_EQ(turns[2].content,
            "<tool_call>\n{\"arguments\":{\"city\":\"Oslo\"},\"name\":\"get_weather\"}\n</tool_call>");
  EXPECT_EQ(turns[3].role, "tool");
  EXPECT_EQ(turns[3].content, "<tool_response>\n{\"temp\": 3}\n</tool_response>");
  EXPECT_EQ(apply_chat_template(ChatFormat::kPlain, turns, true).substr(0, 17), "<|system|><tools>");
  // An existing system message gets the tools appended.
  const auto with_system = chat_messages_with_tools(
      json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])"),
      weather_tools(), ToolStyle::kCompact);
  ASSERT_EQ(with_system.size(), 2u);
  EXPECT_EQ(with_system[0].content.rfind("Be brief.\n\n<tools>", 0), 0u);
}

TEST(ToolCalls, BadMessagesAreRefused) {
  for (const char* bad : {R"([{"content": "x"}])", R"([{"role": "robot", "content": "x"}])",
                          R"([{"role": "user", "content": 5}])",
                          R"([{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}])",
                          R"([{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{x"}}]}])"}) {
    EXPECT_THROW(chat_messages_with_tools(json::parse(bad), json::array(), ToolStyle::kFull), core::UserError) << bad;
  }
}

}  // namespace
}  // namespace rlpp::nn

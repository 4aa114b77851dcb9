// Tool-call arguments sent as a JSON string are parsed, then copied and dumped recursively when the
// prompt is rendered; nesting beyond the request limit is a UserError (a 400 in `rlpp serve`), not a
// stack overflow. Same input class as tests/serve/protocol_depth_test.cpp, hidden inside a string.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/test_util.h"
#include "rlpp/nn/tokenizer/tool_calls.h"

namespace rlpp::nn {
namespace {

nlohmann::json call_with_arguments(const std::string& arguments) {
  return nlohmann::json::array(
      {{{"role", "user"}, {"content", "q"}},
       {{"role", "assistant"},
        {"content", nullptr},
        {"tool_calls", {{{"id", "call_0"}, {"type", "function"},
                         {"function", {{"name", "f"}, {"arguments", arguments}}}}}}}});
}

TEST(ToolCallsDepth, DeeplyNestedArgumentsStringIsAUserError) {
  const int levels = 100000;
  const std::string deep = "{\"a\": " + std::string(levels, '[') + std::string(levels, ']') + "}";
  test::expect_user_error(
      [&] { chat_messages_with_tools(call_with_arguments(deep), nlohmann::json::array(), ToolStyle::kFull); },
      {"messages[1].tool_calls[0].function.arguments nests deeper than 64 levels"});
}

TEST(ToolCallsDepth, ShallowArgumentsStillRender) {
  const auto turns = chat_messages_with_tools(call_with_arguments("{\"a\": [[1]]}"), nlohmann::json::array(),
                                              ToolStyle::kFull);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[1].content, "<tool_call>\n{\"arguments\":{\"a\":[[1]]},\"name\":\"f\"}\n</tool_call>");
}

}  // namespace
}  // namespace rlpp::nn

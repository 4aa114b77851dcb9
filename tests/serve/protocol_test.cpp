// The chat-completions wire format without a server: request checking (each bad field named),
// completions split into content / tool calls / finish reasons, the response and stream shapes.
#include <gtest/gtest.h>

#include "rlpp/serve/load_test.h"
#include "rlpp/serve/protocol.h"
#include "serve_test_util.h"

namespace rlpp::serve {
namespace {

using nlohmann::json;

const char* kGood = R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})";

// The ApiError of parsing `body`, or fails.
ApiError error_of(const std::string& body, const RequestLimits& limits = {}) {
  try {
    parse_chat_request(body, limits);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

TEST(ProtocolTest, DefaultsOfAMinimalRequest) {
  const ChatRequest r = parse_chat_request(kGood, {});
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_EQ(r.temperature, 1.0);
  EXPECT_EQ(r.top_p, 1.0);
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.seed.has_value());
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.use_tools);
}

TEST(ProtocolTest, FieldsAreRead) {
  const ChatRequest r = parse_chat_request(
      R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 7, "temperature": 0,
          "top_p": 0.5, "seed": 42, "n": 2, "stop": "x", "stream": true, "user": "ignored",
          "tools": [{"type": "function", "function": {"name": "f"}}]})",
      {});
  EXPECT_EQ(*r.max_tokens, 7);
  EXPECT_EQ(r.temperature, 0.0);
  EXPECT_EQ(r.top_p, 0.5);
  EXPECT_EQ(*r.seed, 42u);
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.use_tools);
  // null means "not set", as OpenAI clients send it
  const ChatRequest r2 = parse_chat_request(
      R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": null, "stop": null,
          "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"})",
      {});
  EXPECT_FALSE(r2.max_tokens.has_value());
  EXPECT_FALSE(r2.use_tools);
}

TEST(ProtocolTest, EveryBadFieldIsNamed) {
  struct Case {
    std::string body, param, code;
  };
  const std::string msgs = R"("messages": [{"role": "user", "content": "hi"}])";
  const std::vector<Case> cases = {
      {"{not json", "", "invalid_json"},
      {"[1, 2]", "", "invalid_json"},
      {"{" + msgs + "}", "model", "missing_field"},
      {R"({"model": 3, )" + msgs + "}", "model", "invalid_type"},
      {R"({"model": "m"})", "messages", "missing_field"},
      {R"({"model": "m", "messages": []})", "messages", "invalid_type"},
      {R"({"model": "m", "messages": ["hi"]})", "messages", "invalid_type"},
      {R"({"model": "m", )" + msgs + R"(, "max_tokens": 0})", "max_tokens", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "max_tokens": 257})", "max_tokens", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "max_tokens": 18446744073709551615})", "max_tokens", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "max_tokens": 2.5})", "max_tokens", "invalid_type"},
      {R"({"model": "m", )" + msgs + R"(, "temperature": -0.1})", "temperature", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "temperature": 2.5})", "temperature", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "temperature": "hot"})", "temperature", "invalid_type"},
      {R"({"model": "m", )" + msgs + R"(, "top_p": 0})", "top_p", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "n": 9})", "n", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "seed": "1"})", "seed", "invalid_type"},
      {R"({"model": "m", )" + msgs + R"(, "stop": 5})", "stop", "invalid_type"},
      {R"({"model": "m", )" + msgs + R"(, "stop": ["a", "b", "c", "d", "e"]})", "stop", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "stop": [""]})", "stop", "invalid_value"},
      {R"({"model": "m", )" + msgs + R"(, "stream": "yes"})", "stream", "invalid_type"},
      {R"({"model": "m", )" + msgs + R"(, "tools": [{"type": "function", "function": {}}]})", "tools", "invalid_tools"},
      {R"({"model": "m", )" + msgs + R"(, "tools": {"name": "f"}})", "tools", "invalid_tools"},
      {R"({"model": "m", )" + msgs +
           R"(, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
              "properties": {"a": {"type": "string"}}, "required": ["b"]}}}]})",
       "tools", "invalid_tools"},
      {R"({"model": "m", )" + msgs + R"(, "tool_choice": "required"})", "tool_choice", "unsupported_value"},
  };
  for (const Case& c : cases) {
    const ApiError e = error_of(c.body);
    EXPECT_EQ(e.status(), 400) << c.body;
    const json b = e.body();
    ASSERT_TRUE(b.contains("error")) << c.body;
    for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(b["error"].contains(k)) << k << " " << c.body;
    EXPECT_EQ(b["error"]["type"], "invalid_request_error");
    if (c.param.empty()) EXPECT_TRUE(b["error"]["param"].is_null()) << c.body;
    else EXPECT_EQ(b["error"]["param"], c.param) << c.body;
    EXPECT_EQ(b["error"]["code"], c.code) << c.body;
    EXPECT_FALSE(b["error"]["message"].get<std::string>().empty());
  }
}

TEST(ProtocolTest, ChoiceFinishReasons) {
  auto tok = testing::make_tokenizer();
  auto ids = [&](const std::string& s) { return tok->encode(s); };
  std::vector<int64_t> with_eos = ids("hello");
  with_eos.push_back(tok->eos_id);
  // stopped at eos: the eos is counted, not shown
  Choice c = make_choice(*tok, with_eos, /*stopped=*/true, {}, false);
  EXPECT_EQ(c.content, "hello");
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_EQ(c.completion_tokens, 6);
  // out of budget
  c = make_choice(*tok, ids("hel"), false, {}, false);
  EXPECT_EQ(c.content, "hel");
  EXPECT_EQ(c.finish_reason, "length");
  // a stop string cuts before its earliest occurrence and makes it "stop"
  c = make_choice(*tok, ids("hello world"), false, {"o w", "ll"}, false);
  EXPECT_EQ(c.content, "he");
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_EQ(c.completion_tokens, 11);
}

TEST(ProtocolTest, ToolCallsAreSplitOut) {
  auto tok = testing::make_tokenizer();
  const std::string text =
      "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";
  std::vector<int64_t> t = tok->encode(text);
  t.push_back(tok->eos_id);
  Choice c = make_choice(*tok, t, true, {}, /*use_tools=*/true);
  EXPECT_EQ(c.content, "Checking.");
  ASSERT_EQ(c.tool_calls.size(), 2u);
  EXPECT_EQ(c.finish_reason, "tool_calls");
  const json calls = tool_calls_json(c.tool_calls);
  EXPECT_EQ(calls[0]["id"], "call_0");
  EXPECT_EQ(calls[0]["type"], "function");
  EXPECT_EQ(calls[0]["function"]["name"], "get_weather");
  ASSERT_TRUE(calls[0]["function"]["arguments"].is_string());  // a JSON string, as OpenAI sends it
  EXPECT_EQ(json::parse(calls[0]["function"]["arguments"].get<std::string>()), json({{"city", "Paris"}}));
  EXPECT_EQ(calls[1]["function"]["arguments"], "{}");
  // without tools the same text is plain content
  c = make_choice(*tok, t, true, {}, false);
  EXPECT_EQ(c.content, text);
  EXPECT_EQ(c.finish_reason, "stop");
}

TEST(ProtocolTest, CompletionShapeAndUsage) {
  Choice a{"hi", {}, "stop", 3};
  Choice b{"", {{"call_0", "f", json{{"x", 1}}}}, "tool_calls", 4};
  const json j = completion_json("chatcmpl-1", 123, "m", {a, b}, 10);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["id"], "chatcmpl-1");
  EXPECT_EQ(j["created"], 123);
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_EQ(j["choices"][0]["message"], json({{"role", "assistant"}, {"content", "hi"}}));
  EXPECT_EQ(j["choices"][1]["index"], 1);
  EXPECT_TRUE(j["choices"][1]["message"]["content"].is_null());
  EXPECT_EQ(j["choices"][1]["message"]["tool_calls"][0]["function"]["arguments"], "{\"x\":1}");
  EXPECT_EQ(j["choices"][1]["finish_reason"], "tool_calls");
  EXPECT_EQ(j["usage"], json({{"prompt_tokens", 10}, {"completion_tokens", 7}, {"total_tokens", 17}}));
}

TEST(ProtocolTest, ContentPiecesFollowTokens) {
  auto tok = testing::make_tokenizer();
  std::vector<int64_t> t = tok->encode("abc");
  t.push_back(tok->eos_id);
  EXPECT_EQ(content_pieces(*tok, t, "abc"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(content_pieces(*tok, t, "ab"), (std::vector<std::string>{"a", "b"}));  // cut by a stop string
  EXPECT_EQ(content_pieces(*tok, t, "xy"), (std::vector<std::string>{"xy"}));      // not a prefix: whole
}

TEST(ProtocolTest, StreamEvents) {
  Choice a{"ab", {{"call_0", "f", json::object()}}, "tool_calls", 5};
  const std::string s = completion_stream("id1", 7, "m", {a}, {{"a", "b"}});
  std::vector<json> events;
  size_t pos = 0;
  bool done = false;
  while (pos < s.size()) {
    const size_t end = s.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos);
    const std::string line = s.substr(pos, end - pos);
    ASSERT_EQ(line.rfind("data: ", 0), 0u) << line;
    if (line == "data: [DONE]") done = true;
    else events.push_back(json::parse(line.substr(6)));
    pos = end + 2;
  }
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 5u);  // role, "a", "b", tool calls, finish
  for (const json& e : events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["id"], "id1");
    EXPECT_EQ(e["choices"][0]["index"], 0);
  }
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(events[1]["choices"][0]["delta"]["content"], "a");
  EXPECT_EQ(events[2]["choices"][0]["delta"]["content"], "b");
  EXPECT_EQ(events[3]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
  EXPECT_EQ(events[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"], "f");
  EXPECT_TRUE(events[3]["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(events[4]["choices"][0]["delta"], json::object());
  EXPECT_EQ(events[4]["choices"][0]["finish_reason"], "tool_calls");
}

// Nearest rank by hand: of 1..10, p50 is the 5th, p90 the 9th, p99 and p100 the 10th; p1 the 1st.
TEST(ProtocolTest, NearestRankPercentiles) {
  const std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(nearest_rank(v, 50), 5);
  EXPECT_EQ(nearest_rank(v, 90), 9);
  EXPECT_EQ(nearest_rank(v, 99), 10);
  EXPECT_EQ(nearest_rank(v, 100), 10);
  EXPECT_EQ(nearest_rank(v, 1), 1);
  EXPECT_EQ(nearest_rank({4.0}, 50), 4);
}

}  // namespace
}  // namespace rlpp::serve

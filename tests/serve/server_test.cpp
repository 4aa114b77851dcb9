// The server in-process on a free loopback port, spoken to with httplib::Client: response shapes
// and usage counts (prompt tokens counted by hand from the plain chat format), tool calls, every bad
// request with its status and JSON error, the API key, unknown paths, body limit, a failing
// backend, concurrent requests batched, the event stream, graceful stop, the load test, and a
// tiny real model whose greedy answer equals greedy decoding written out in the test.
#include <gtest/gtest.h>

#ifdef RLPP_HAVE_HTTPLIB
#include <httplib.h>
#endif

#include <thread>

#include "rlpp/serve/load_test.h"
#include "rlpp/serve/server.h"
#include "serve_test_util.h"

namespace rlpp::serve {
namespace {

using nlohmann::json;

#ifdef RLPP_HAVE_HTTPLIB

ServerOptions test_options() { return testing::http_test_options(); }

json user(const std::string& content) { return json::array({{{"role", "user"}, {"content", content}}}); }

struct Fixture {
  std::shared_ptr<testing::ScriptedBackend> backend;
  std::unique_ptr<Server> server;
  std::unique_ptr<httplib::Client> client;

  explicit Fixture(const std::string& text, ServerOptions o = test_options(), int64_t context = 0) {
    backend = std::make_shared<testing::ScriptedBackend>(text, context);
    server = std::make_unique<Server>(backend, o);
    server->start();
    client = make_client();
  }
  std::unique_ptr<httplib::Client> make_client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    c->set_read_timeout(20, 0);
    return c;
  }
  httplib::Result post(const json& body, const httplib::Headers& h = {}) {
    return client->Post("/v1/chat/completions", h, body.dump(), "application/json");
  }
};

TEST(ServerTest, ModelsAndHealth) {
  Fixture f("hello");
  auto r = f.client->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["status"], "ok");
  r = f.client->Get("/v1/models");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json m = json::parse(r->body);
  EXPECT_EQ(m["object"], "list");
  ASSERT_EQ(m["data"].size(), 1u);
  EXPECT_EQ(m["data"][0]["id"], "tiny");
  EXPECT_EQ(m["data"][0]["object"], "model");
}

TEST(ServerTest, CompletionShapeAndUsage) {
  Fixture f("hello");
  auto r = f.post({{"model", "tiny"}, {"messages", user("hi")}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->get_header_value("Content-Type").find("application/json"), std::string::npos);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_TRUE(j["created"].is_number_integer());
  EXPECT_EQ(j["model"], "tiny");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "hello");
  EXPECT_FALSE(j["choices"][0]["message"].contains("tool_calls"));
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  // prompt "<bos><|user|>hi<|assistant|>": bos, <|user|>, h, i, <|assistant|> = 5 tokens;
  // completion "hello" + eos = 6 tokens
  EXPECT_EQ(j["usage"], json({{"prompt_tokens", 5}, {"completion_tokens", 6}, {"total_tokens", 11}}));
  // what the backend was given: exactly those prompt ids, the default budget
  const BatchSpec b = f.backend->last_batch();
  ASSERT_EQ(b.rows.size(), 1u);
  const auto& tok = f.backend->tokenizer();
  std::vector<int64_t> want = {tok.bos_id, *tok.token_to_id("<|user|>"), tok.encode("h")[0], tok.encode("i")[0],
                               *tok.token_to_id("<|assistant|>")};
  EXPECT_EQ(b.rows[0].prompt, want);
  EXPECT_EQ(b.rows[0].max_new_tokens, 64);
  EXPECT_EQ(b.rows[0].temperature, 1.0);

  // a budget cut: "length"; a stop string: "stop"; n = 2: two choices, usage summed
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"max_tokens", 3}, {"temperature", 0}});
  json k = json::parse(r->body);
  EXPECT_EQ(k["choices"][0]["message"]["content"], "hel");
  EXPECT_EQ(k["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(k["usage"]["completion_tokens"], 3);
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"stop", "ll"}});
  k = json::parse(r->body);
  EXPECT_EQ(k["choices"][0]["message"]["content"], "he");
  EXPECT_EQ(k["choices"][0]["finish_reason"], "stop");
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"n", 2}});
  k = json::parse(r->body);
  ASSERT_EQ(k["choices"].size(), 2u);
  EXPECT_EQ(k["choices"][1]["index"], 1);
  EXPECT_EQ(k["usage"]["completion_tokens"], 12);
  EXPECT_EQ(k["usage"]["prompt_tokens"], 5);
}

TEST(ServerTest, ToolCallsAreReturned) {
  const std::string text =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>";
  ServerOptions o = test_options();
  o.limits.max_new_tokens = 256;  // the scripted call is longer than the default budget of 64
  Fixture f(text, o);
  const json tools = json::array({{{"type", "function"},
                                   {"function",
                                    {{"name", "get_weather"},
                                     {"description", "forecast"},
                                     {"parameters",
                                      {{"type", "object"},
                                       {"properties", {{"city", {{"type", "string"}}}, {"days", {{"type", "integer"}}}}},
                                       {"required", {"city"}}}}}}}});
  auto r = f.post({{"model", "tiny"}, {"messages", user("weather in Paris?")}, {"tools", tools}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_null());
  const json& call = j["choices"][0]["message"]["tool_calls"][0];
  EXPECT_EQ(call["id"], "call_0");
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()), json({{"city", "Paris"}, {"days", 2}}));
  // the tools went into the prompt (a system turn before the user's)
  const auto& tok = f.backend->tokenizer();
  const std::string prompt = tok.decode(f.backend->last_batch().rows[0].prompt);
  EXPECT_EQ(prompt.rfind("<bos><|system|><tools>\nget_weather(", 0), 0u) << prompt;

  // tool_choice none: tools are neither shown nor parsed
  r = f.post({{"model", "tiny"}, {"messages", user("x")}, {"tools", tools}, {"tool_choice", "none"}});
  j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["choices"][0]["message"]["content"], text);
  EXPECT_EQ(tok.decode(f.backend->last_batch().rows[0].prompt), "<bos><|user|>x<|assistant|>");
}

// status, error.param, error.code of one request
void expect_error(httplib::Result& r, int status, const std::string& param, const std::string& code) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r->body;
  ASSERT_TRUE(j.contains("error")) << r->body;
  for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(j["error"].contains(k)) << k << r->body;
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
  if (param.empty()) EXPECT_TRUE(j["error"]["param"].is_null()) << r->body;
  else EXPECT_EQ(j["error"]["param"], param) << r->body;
  if (code.empty()) EXPECT_TRUE(j["error"]["code"].is_null()) << r->body;
  else EXPECT_EQ(j["error"]["code"], code) << r->body;
}

TEST(ServerTest, BadRequestsGetJsonErrors) {
  ServerOptions o = test_options();
  o.max_prompt_tokens = 20;
  o.max_body_bytes = 4000;
  Fixture f("ok", o, /*context=*/40);
  auto raw = [&](const std::string& body) { return f.client->Post("/v1/chat/completions", body, "application/json"); };
  auto r = raw("{\"model\": ");
  expect_error(r, 400, "", "invalid_json");
  r = raw("[]");
  expect_error(r, 400, "", "invalid_json");
  r = f.post({{"messages", user("hi")}});
  expect_error(r, 400, "model", "missing_field");
  r = f.post({{"model", "other"}, {"messages", user("hi")}});
  expect_error(r, 404, "model", "model_not_found");
  r = f.post({{"model", "tiny"}, {"messages", json::array({{{"content", "no role"}}})}});
  expect_error(r, 400, "messages", "invalid_messages");
  r = f.post({{"model", "tiny"}, {"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}});
  expect_error(r, 400, "messages", "invalid_messages");
  r = f.post({{"model", "tiny"}, {"messages", user("caf\xc3\xa9")}});  // é is not in the alphabet
  expect_error(r, 400, "messages", "unencodable_text");
  r = f.post({{"model", "tiny"}, {"messages", user(std::string(30, 'a'))}});  // 33 > 20 prompt tokens
  expect_error(r, 400, "messages", "context_length_exceeded");
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"max_tokens", 36}});  // 5 + 36 > 40
  expect_error(r, 400, "max_tokens", "context_length_exceeded");
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"max_tokens", 0}});
  expect_error(r, 400, "max_tokens", "invalid_value");
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"max_tokens", 65}});
  expect_error(r, 400, "max_tokens", "invalid_value");
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"tools", json::array({{{"type", "function"}}})}});
  expect_error(r, 400, "tools", "invalid_tools");
  r = raw(std::string(5000, ' '));  // over the 4000-byte body limit
  expect_error(r, 413, "", "body_too_large");
  r = f.client->Get("/v1/nothing");
  expect_error(r, 404, "", "unknown_url");
  r = f.client->Get("/v1/chat/completions");  // wrong method: no such route
  expect_error(r, 404, "", "unknown_url");
  // none of it reached the backend, and the server still answers; an unset max_tokens fills the
  // context that is left (40 - 5)
  EXPECT_TRUE(f.backend->batch_sizes().empty());
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(f.backend->last_batch().rows[0].max_new_tokens, 35);
}

TEST(ServerTest, ApiKey) {
  ServerOptions o = test_options();
  o.api_key = "sekret";
  Fixture f("ok", o);
  const json body = {{"model", "tiny"}, {"messages", user("hi")}};
  auto r = f.post(body);
  expect_error(r, 401, "", "invalid_api_key");
  r = f.post(body, {{"Authorization", "Bearer wrong"}});
  expect_error(r, 401, "", "invalid_api_key");
  r = f.client->Get("/v1/models");
  expect_error(r, 401, "", "invalid_api_key");
  r = f.post(body, {{"Authorization", "Bearer sekret"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = f.client->Get("/health");  // health needs no key
  EXPECT_EQ(r->status, 200);
}

TEST(ServerTest, AFailingBackendIsA500AndTheServerGoesOn) {
  Fixture f("ok");
  f.backend->fail_next = true;
  auto r = f.post({{"model", "tiny"}, {"messages", user("hi")}});
  expect_error(r, 500, "", "generation_failed");
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "server_error");
  r = f.post({{"model", "tiny"}, {"messages", user("hi")}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(f.server->stats().failed_batches, 1);
}

TEST(ServerTest, ConcurrentRequestsAreBatched) {
  ServerOptions o = test_options();
  o.scheduler.max_batch = 8;
  o.scheduler.batch_wait_ms = 300;
  Fixture f("hello", o);
  f.backend->delay_ms = 50;
  constexpr int kRequests = 8;
  std::vector<int> status(kRequests, 0);
  std::vector<std::string> content(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      auto c = f.make_client();
      auto r = c->Post("/v1/chat/completions", json({{"model", "tiny"}, {"messages", user("q" + std::to_string(i))}}).dump(),
                       "application/json");
      if (!r) return;
      status[i] = r->status;
      content[i] = json::parse(r->body)["choices"][0]["message"]["content"];
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(status[i], 200) << i;
    EXPECT_EQ(content[i], "hello") << i;
  }
  const SchedulerStats s = f.server->stats();
  EXPECT_EQ(s.jobs, kRequests);
  EXPECT_LT(s.batches, kRequests);  // the metric: fewer backend calls than requests
  EXPECT_GT(s.largest_batch, 1);
  std::cout << "8 concurrent requests ran in " << s.batches << " batches (largest " << s.largest_batch << ")\n";
}

// "data: ..." events of an SSE body
std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(pos, end - pos);
    EXPECT_EQ(line.rfind("data: ", 0), 0u) << line;
    out.push_back(line.substr(6));
    pos = end + 2;
  }
  return out;
}

TEST(ServerTest, Streaming) {
  Fixture f("hey");
  auto r = f.post({{"model", "tiny"}, {"messages", user("hi")}, {"stream", true}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  const auto events = sse_events(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text, finish, id;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json c = json::parse(events[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_EQ(c["model"], "tiny");
    if (i == 0) id = c["id"];
    EXPECT_EQ(c["id"], id);  // one id for the whole stream
    const json& ch = c["choices"][0];
    if (i == 0) {
      EXPECT_EQ(ch["delta"]["role"], "assistant");
    }
    if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(text, "hey");
  EXPECT_EQ(finish, "stop");
  EXPECT_EQ(events.size(), 1u + 3u + 1u + 1u);  // role, h, e, y, finish, [DONE]
}

TEST(ServerTest, GracefulStopFinishesRequestsInFlight) {
  Fixture f("done");
  f.backend->delay_ms = 400;
  int status = 0;
  std::string content;
  std::thread t([&] {
    auto r = f.post({{"model", "tiny"}, {"messages", user("hi")}});
    if (!r) return;
    status = r->status;
    content = json::parse(r->body)["choices"][0]["message"]["content"];
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the request is being generated
  f.server->stop();
  t.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(content, "done");
  httplib::Client late("127.0.0.1", f.server->port());
  late.set_connection_timeout(1, 0);
  EXPECT_FALSE(late.Get("/health"));  // no longer listening
}

TEST(ServerTest, LoadTestCountsEveryRequest) {
  ServerOptions o = test_options();
  o.scheduler.max_batch = 4;
  o.scheduler.batch_wait_ms = 2;
  Fixture f("42", o);
  LoadTestOptions lo;
  lo.base_url = "http://127.0.0.1:" + std::to_string(f.server->port());
  lo.model = "tiny";
  lo.requests = 24;
  lo.concurrency = 4;
  lo.max_tokens = 8;
  const LoadTestReport rep = run_load_test(lo);
  EXPECT_EQ(rep.sent, 24);
  EXPECT_EQ(rep.ok, 24);
  EXPECT_EQ(rep.errors, 0) << (rep.error_samples.empty() ? "" : rep.error_samples[0]);
  EXPECT_EQ(rep.completion_tokens, 24 * 3);  // "42" + eos
  EXPECT_GT(rep.requests_per_s, 0);
  EXPECT_LE(rep.p50_ms, rep.p90_ms);
  EXPECT_LE(rep.p90_ms, rep.p99_ms);
  EXPECT_LE(rep.p99_ms, rep.max_ms);
  lo.model = "nope";  // every request a 404: all counted as errors
  lo.requests = 3;
  const LoadTestReport bad = run_load_test(lo);
  EXPECT_EQ(bad.errors, 3);
  EXPECT_EQ(bad.ok, 0);
}

// A real (tiny, random) transformer served end to end: the greedy answer over HTTP is the greedy
// decoding of the hand-built prompt, written out with uncached forwards.
TEST(ServerTest, GreedyAnswerOfARealModel) {
  torch::set_num_threads(1);
  auto tok = testing::make_tokenizer();
  const int64_t eos = tok->eos_id;
  auto model = std::make_shared<nn::lm::TransformerLm>(testing::make_tiny_model(*tok, 7));
  std::vector<int64_t> prompt = {tok->bos_id, *tok->token_to_id("<|user|>")};
  for (int64_t id : tok->encode("2+2=")) prompt.push_back(id);
  prompt.push_back(*tok->token_to_id("<|assistant|>"));
  std::vector<int64_t> want = testing::naive_greedy(*model, prompt, 10, eos);
  const bool stopped = !want.empty() && want.back() == eos;
  if (stopped) want.pop_back();
  const std::string want_text = tok->decode(want, /*skip_special=*/true);

  auto backend = std::make_shared<LmBackend>(model->get(), model, testing::make_tokenizer(), std::vector<int64_t>{eos});
  Server server(backend, test_options());
  server.start();
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(20, 0);
  const json body = {{"model", "tiny"}, {"messages", user("2+2=")}, {"temperature", 0}, {"max_tokens", 10}};
  auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], want_text);
  EXPECT_EQ(j["choices"][0]["finish_reason"], stopped ? "stop" : "length");
  EXPECT_EQ(j["usage"]["prompt_tokens"], static_cast<int64_t>(prompt.size()));
  EXPECT_EQ(j["usage"]["completion_tokens"], static_cast<int64_t>(want.size() + (stopped ? 1 : 0)));
  // a seeded sampled request repeats
  json sampled = {{"model", "tiny"}, {"messages", user("2+2=")}, {"temperature", 1.0}, {"seed", 5}, {"max_tokens", 10}};
  auto a = c.Post("/v1/chat/completions", sampled.dump(), "application/json");
  auto b = c.Post("/v1/chat/completions", sampled.dump(), "application/json");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(json::parse(a->body)["choices"], json::parse(b->body)["choices"]);
  server.stop();
}

#else

TEST(ServerTest, SkippedWithoutHttplib) { GTEST_SKIP() << "built without cpp-httplib"; }

#endif

}  // namespace
}  // namespace rlpp::serve

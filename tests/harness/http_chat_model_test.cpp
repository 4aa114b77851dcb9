#include "rlpp/harness/http_chat_model.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "harness/harness_test_util.h"
#include "rlpp/core/error.h"
#include "rlpp/harness/metrics.h"
#include "rlpp/harness/replay.h"
#include "rlpp/harness/scripted_model.h"

#ifdef RLPP_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace rlpp::harness {
namespace {

using nlohmann::json;

TEST(Endpoint, BaseUrlForms) {
  EXPECT_EQ(chat_completions_endpoint("http://127.0.0.1:8080").path, "/v1/chat/completions");
  EXPECT_EQ(chat_completions_endpoint("http://127.0.0.1:8080/").scheme_host_port, "http://127.0.0.1:8080");
  EXPECT_EQ(chat_completions_endpoint("http://h:1/v1").path, "/v1/chat/completions");
  EXPECT_EQ(chat_completions_endpoint("https://api.example.com/openai/v1/").path, "/openai/v1/chat/completions");
  EXPECT_THROW(chat_completions_endpoint("127.0.0.1:8080"), core::UserError);
  EXPECT_THROW(chat_completions_endpoint("http://"), core::UserError);
}

TEST(NormalizeAssistantMessage, FillsIdsAndDumpsArguments) {
  const json m = normalize_assistant_message(json::parse(
      R"({"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]})"));
  EXPECT_EQ(m["content"], "");
  EXPECT_EQ(m["tool_calls"][0]["id"], "call_0");
  EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
  EXPECT_THROW(normalize_assistant_message(json::parse(R"({"tool_calls": [{"function": {}}]})")), ModelError);
}

#ifdef RLPP_HAVE_HTTPLIB

// A loopback server on a random port, running in its own thread for the test's lifetime.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server_.Post("/v1/chat/completions", std::move(handler));
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

json completion(const json& message) {
  return {{"id", "x"}, {"object", "chat.completion"}, {"choices", json::array({{{"index", 0}, {"message", message}}})}};
}

HttpModelOptions options(const std::string& url) {
  HttpModelOptions o;
  o.base_url = url;
  o.model = "tiny";
  o.timeout_s = 5.0;
  o.retries = 2;
  o.backoff_s = 0.01;
  return o;
}

TEST(HttpChatModel, SendsTheRequestAndRetriesAfterA500) {
  std::atomic<int> calls{0};
  json seen;
  std::string auth;
  LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 500;
      res.set_content(R"({"error": "busy"})", "application/json");
      return;
    }
    seen = json::parse(req.body);
    auth = req.get_header_value("Authorization");
    res.set_content(completion({{"role", "assistant"}, {"content", nullptr},
                                {"tool_calls", json::array({{{"id", "c1"}, {"type", "function"},
                                                             {"function", {{"name", "f"}, {"arguments", "{\"x\":1}"}}}}})}})
                        .dump(),
                    "application/json");
  });
  auto o = options(server.url());
  o.api_key = "k123";
  o.temperature = 0.5;
  o.seed = 7;
  auto model = make_http_chat_model(o);
  const json tools = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
  const json reply = model->complete(json::array({{{"role", "user"}, {"content", "hi"}}}), tools);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(reply["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(reply["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(seen["model"], "tiny");
  EXPECT_EQ(seen["tools"], tools);
  EXPECT_EQ(seen["temperature"], 0.5);
  EXPECT_EQ(seen["seed"], 7);
  EXPECT_EQ(auth, "Bearer k123");
  const HttpStats s = http_model_stats(*model);
  EXPECT_EQ(s.requests, 2);
  EXPECT_EQ(s.retries, 1);
  EXPECT_EQ(s.failures, 0);
}

TEST(HttpChatModel, GivesUpAfterTheRetriesAnd4xxIsNotRetried) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    res.status = json::parse(req.body)["model"] == "bad" ? 400 : 429;
    res.set_content(R"({"error": {"message": "nope"}})", "application/json");
  });
  auto model = make_http_chat_model(options(server.url()));
  EXPECT_THROW(model->complete(json::array(), json::array()), ModelError);
  EXPECT_EQ(calls.load(), 3);  // 1 + 2 retries
  calls = 0;
  auto o = options(server.url());
  o.model = "bad";
  auto bad = make_http_chat_model(o);
  try {
    bad->complete(json::array(), json::array());
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 400"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpChatModel, TimeoutIsAnError) {
  LoopbackServer server([&](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content(completion({{"role", "assistant"}, {"content", "late"}}).dump(), "application/json");
  });
  auto o = options(server.url());
  o.timeout_s = 0.2;
  o.retries = 0;
  auto model = make_http_chat_model(o);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(model->complete(json::array(), json::array()), ModelError);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.4);
}

TEST(HttpChatModel, ConnectionRefusedIsRetriedThenAnError) {
  // A port that was free a moment ago: bound without listen(), then closed.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  auto o = options("http://127.0.0.1:" + std::to_string(port));
  auto model = make_http_chat_model(o);
  try {
    model->complete(json::array(), json::array());
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("3 attempts"), std::string::npos) << e.what();
  }
}

TEST(HttpChatModel, BadOptionsAreUserErrors) {
  auto o = options("http://127.0.0.1:1");
  o.timeout_s = 0;
  EXPECT_THROW(make_http_chat_model(o), core::UserError);
  o = options("ftp://x");
  EXPECT_THROW(make_http_chat_model(o), core::UserError);
  o = options("http://127.0.0.1:1");
  o.retries = -1;
  EXPECT_THROW(make_http_chat_model(o), core::UserError);
}

TEST(HttpChatModel, EndToEndTheHarnessScoresAServedOracle) {
  // The oracle behind an OpenAI-compatible endpoint; the harness must score it perfectly over HTTP,
  // with several cases in flight.
  const auto cases = read_cases(test::fixture("cases.jsonl")).cases;
  OracleModel oracle(cases);
  LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body);
    res.set_content(completion(oracle.complete(body["messages"], body["tools"])).dump(), "application/json");
  });
  auto model = make_http_chat_model(options(server.url()));
  const ReplayRun run = replay_all(*model, cases, 1, 3, {});
  ASSERT_EQ(run.results.size(), 10u);
  const json m = compute_metrics(run.results, 1);
  EXPECT_DOUBLE_EQ(m["overall"]["args_acc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["optimal_path"]["rate"].get<double>(), 1.0);
}

#endif  // RLPP_HAVE_HTTPLIB

}  // namespace
}  // namespace rlpp::harness

// Startup of the server: the address is announced only once the socket listens, with the port it
// really got (port 0 included), and an address that cannot be bound is a core::UserError (exit 2
// in the CLI) with nothing announced. Checked on Server::listen and on the `rlpp serve` command
// (run_server with a tiny model saved to disk).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "../train/test_dirs.h"
#include "raw_http.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/serve/run_server.h"
#include "rlpp/serve/server.h"
#include "serve_test_util.h"

#ifdef RLPP_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace rlpp::serve {
namespace {

#ifdef RLPP_HAVE_HTTPLIB

ServerOptions test_options() {
  ServerOptions o;
  o.port = 0;
  o.model_name = "tiny";
  o.format.chat = nn::ChatFormat::kPlain;
  return o;
}

bool health_ok(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  auto r = c.Get("/health");
  return r && r->status == 200;
}

TEST(ServerListenTest, AnnouncesTheBoundPortOnlyOnceListening) {
  auto backend = std::make_shared<testing::ScriptedBackend>("ok");
  Server server(backend, test_options());
  std::atomic<int> announced{-1};
  std::atomic<bool> reachable{false};
  std::thread t([&] {
    server.listen([&](int port) {
      // the socket listens when the address is announced: a connection completes (it waits in
      // the backlog until the accept loop starts)
      reachable = testing::RawConn(port).connected();
      announced = port;
    });
  });
  for (int i = 0; i < 500 && announced < 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT(announced, 0);  // the chosen port, not 0
  EXPECT_EQ(announced, server.port());
  EXPECT_TRUE(reachable);
  EXPECT_TRUE(health_ok(announced));
  server.stop();
  t.join();
}

// httplib's stop() is a no-op until the accept loop runs: a server stopped right after start()
// must still return (it once hung when the background thread had not been scheduled yet)
TEST(ServerListenTest, StopRightAfterStartReturns) {
  auto backend = std::make_shared<testing::ScriptedBackend>("ok");
  for (int i = 0; i < 200; ++i) {
    Server s(backend, test_options());
    s.start();
    s.stop();
  }
  SUCCEED();
}

TEST(ServerListenTest, APortInUseIsAUserErrorAndNothingIsAnnounced) {
  auto backend = std::make_shared<testing::ScriptedBackend>("ok");
  Server first(backend, test_options());
  first.start();
  ServerOptions o = test_options();
  o.port = first.port();
  Server second(backend, o);
  bool announced = false;
  try {
    second.listen([&](int) { announced = true; });
    ADD_FAILURE() << "listen on a port in use returned";
  } catch (const core::UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot listen on 127.0.0.1:" + std::to_string(o.port)), std::string::npos) << msg;
    EXPECT_NE(msg.find("in use"), std::string::npos) << msg;  // strerror(EADDRINUSE)
  }
  EXPECT_FALSE(announced);
  EXPECT_TRUE(health_ok(first.port()));  // the first server is untouched
}

// std::cout stand-in that the serving thread writes while the test reads. The mutex is recursive:
// std::stringbuf::xsputn calls overflow() when its buffer grows, inside the locked xsputn.
class LockedBuf : public std::stringbuf {
 public:
  std::string text() {
    std::lock_guard<std::recursive_mutex> lk(mu_);
    return str();
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::recursive_mutex> lk(mu_);
    return std::stringbuf::xsputn(s, n);
  }
  int_type overflow(int_type c) override {
    std::lock_guard<std::recursive_mutex> lk(mu_);
    return std::stringbuf::overflow(c);
  }

 private:
  std::recursive_mutex mu_;
};

class RunServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    auto tok = testing::make_tokenizer();
    auto model = testing::make_tiny_model(*tok, 5);
    nn::lm::save_pretrained(dir_.sub("tiny"), model);
    tok->save(dir_.sub("tiny") + "/rlpp_tokenizer.json");
    req_.model_path = dir_.sub("tiny");
    req_.port = 0;
  }
  rlpp::testing::TempDir dir_{"serve-run"};
  ServeRequest req_;
};

TEST_F(RunServerTest, PortZeroPrintsTheRealPort) {
  LockedBuf buf;
  std::ostream out(&buf);
  std::atomic<bool> stop{false};
  int rc = -1;
  std::thread t([&] { rc = run_server(req_, stop, &out); });
  std::smatch m;
  std::string text;
  const std::regex line("serving 'tiny' \\([a-z0-9]+ prompts\\) on http://127\\.0\\.0\\.1:([0-9]+)/v1");
  for (int i = 0; i < 1000 && !std::regex_search(text, m, line); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = buf.text();
  }
  const bool found = std::regex_search(text, m, line);
  const int port = found ? std::stoi(m[1]) : -1;
  const bool healthy = found && health_ok(port);
  stop = true;
  t.join();
  ASSERT_TRUE(found) << text;
  EXPECT_GT(port, 0);
  EXPECT_TRUE(healthy);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(buf.text().find("stopped: "), std::string::npos);
}

TEST_F(RunServerTest, ABindFailureThrowsAndPrintsNoAddress) {
  auto backend = std::make_shared<testing::ScriptedBackend>("ok");
  Server taken(backend, test_options());
  taken.start();
  req_.port = taken.port();
  std::ostringstream out;
  std::atomic<bool> stop{false};
  EXPECT_THROW(run_server(req_, stop, &out), core::UserError);
  EXPECT_EQ(out.str().find("serving"), std::string::npos) << out.str();
}

#else

TEST(ServerListenTest, SkippedWithoutHttplib) { GTEST_SKIP() << "built without cpp-httplib"; }

#endif

}  // namespace
}  // namespace rlpp::serve

// Request bodies nested too deeply for the recursive JSON copy and dump are a 400, not a crash. The
// input crashed fuzz/chat_request.cpp: 10^5 nested arrays in a message (200 KB, under the server's
// 1 MiB body limit) overflowed the stack when parse_chat_request copied the messages.
#include <gtest/gtest.h>

#include <string>

#include "rlpp/serve/protocol.h"

namespace rlpp::serve {
namespace {

// A valid request whose one message carries `levels` nested arrays in an extra field; the
// message's own fields sit at depth 3 (body, messages, message).
std::string nested_request(int levels) {
  return R"({"model": "m", "messages": [{"role": "user", "content": "x", "extra": )" + std::string(levels, '[') +
         std::string(levels, ']') + "}]}";
}

TEST(ProtocolDepth, DeeplyNestedBodyIsA400) {
  try {
    parse_chat_request(nested_request(100000), RequestLimits{});
    ADD_FAILURE() << "accepted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("nests deeper than 64 levels"), std::string::npos) << e.what();
    EXPECT_EQ(e.body()["error"]["code"], "invalid_json");
  }
  EXPECT_THROW(parse_chat_request(nested_request(kMaxRequestDepth), RequestLimits{}), ApiError);
}

TEST(ProtocolDepth, NestingWellWithinTheLimitIsAccepted) {
  const ChatRequest r = parse_chat_request(nested_request(kMaxRequestDepth - 8), RequestLimits{});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0]["content"], "x");
}

}  // namespace
}  // namespace rlpp::serve

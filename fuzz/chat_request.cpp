// Fuzz entry: chat-completions request bodies (serve::parse_chat_request and the prompt the server
// builds from an accepted request), and assistant replies (nn::parse_assistant_reply).
#include <string>

#include "fuzz/fuzz_targets.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/chat_template.h"
#include "rlpp/nn/tokenizer/tool_calls.h"
#include "rlpp/serve/protocol.h"

namespace rlpp::fuzz {

void chat_request(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  (void)nn::parse_assistant_reply(body);  // documented never to throw

  serve::ChatRequest r;
  try {
    r = serve::parse_chat_request(body, serve::RequestLimits{});
  } catch (const serve::ApiError& e) {
    (void)e.body().dump();  // the server sends this body; it must serialise
    return;
  }
  // The server's prompt: messages + tools -> turns -> one chat format; UserError is a 400.
  for (nn::ToolStyle style : {nn::ToolStyle::kFull, nn::ToolStyle::kCompact}) {
    std::vector<nn::ChatMessage> turns;
    try {
      turns = nn::chat_messages_with_tools(r.messages, r.use_tools ? r.tools : nlohmann::json::array(), style);
    } catch (const core::UserError&) {
      continue;
    }
    for (nn::ChatFormat format : {nn::ChatFormat::kChatml, nn::ChatFormat::kLlama3, nn::ChatFormat::kPlain}) {
      try {
        (void)nn::apply_chat_template(format, turns, /*add_generation_prompt=*/true);
      } catch (const core::UserError&) {
      }
    }
  }
}

}  // namespace rlpp::fuzz

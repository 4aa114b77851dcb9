// Chat messages -> one prompt string, for a few named formats (no Jinja interpreter):
//   chatml (Qwen):  <|im_start|>{role}\n{content}<|im_end|>\n ... [<|im_start|>assistant\n]
//   llama3:         <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>
//                   ... [<|start_header_id|>assistant<|end_header_id|>\n\n]  (content trimmed, as
//                   Llama-3's template does)
//   plain (character tokenizer): <|{role}|>{content} ... [<|assistant|>]
// No default system message is inserted (Qwen2.5's template adds one when there is none).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rlpp::nn {

struct ChatMessage {
  std::string role;  // system, user, assistant, tool (llama3 also: ipython)
  std::string content;
};

enum class ChatFormat { kChatml, kLlama3, kPlain };

// "chatml" | "llama3" | "plain"; anything else -> core::UserError listing the valid names.
ChatFormat chat_format_from_name(std::string_view name);
std::string chat_format_name(ChatFormat format);
// Recognises a Jinja chat_template by its markers (<|im_start|> -> chatml, <|start_header_id|> ->
// llama3); nullopt when neither is present.
std::optional<ChatFormat> detect_chat_format(std::string_view jinja_template);
// Reads `chat_template` (a string, or a list of {name, template} where "default" or the first is
// used) from a tokenizer_config.json and recognises it. Throws core::UserError naming the file when
// it is unreadable, has no chat_template, or the template is not recognised.
ChatFormat chat_format_from_config(const std::string& tokenizer_config_path);

// The prompt; add_generation_prompt appends the header that opens an assistant turn. Throws
// core::UserError on a role the format does not have.
std::string apply_chat_template(ChatFormat format, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt);

}  // namespace rlpp::nn

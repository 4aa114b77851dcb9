#include "rlpp/nn/tokenizer/chat_template.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "nn/tokenizer/json_input.h"
#include "nn/tokenizer/unicode.h"
#include "rlpp/core/error.h"

namespace rlpp::nn {

namespace {

const std::vector<std::string>& roles_of(ChatFormat format) {
  static const std::vector<std::string> chatml = {"system", "user", "assistant", "tool"};
  static const std::vector<std::string> llama3 = {"system", "user", "assistant", "ipython", "tool"};
  static const std::vector<std::string> plain = {"system", "user", "assistant", "tool"};
  switch (format) {
    case ChatFormat::kChatml: return chatml;
    case ChatFormat::kLlama3: return llama3;
    case ChatFormat::kPlain: return plain;
  }
  return plain;
}

// Strips Unicode White_Space at both ends (Jinja's `| trim`).
std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  char32_t cp = 0;
  while (b < e) {
    size_t len = utf8_length_at(s, b, &cp);
    if (len == 0 || !is_unicode_whitespace(cp)) break;
    b += len;
  }
  while (e > b) {
    size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t len = utf8_length_at(s, start, &cp);
    if (len != e - start || !is_unicode_whitespace(cp)) break;
    e = start;
  }
  return s.substr(b, e - b);
}

}  // namespace

ChatFormat chat_format_from_name(std::string_view name) {
  if (name == "chatml") return ChatFormat::kChatml;
  if (name == "llama3") return ChatFormat::kLlama3;
  if (name == "plain") return ChatFormat::kPlain;
  throw core::UserError("chat template '" + std::string(name) +
                        "' is not known (known: chatml, llama3, plain)");
}

std::string chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::kChatml: return "chatml";
    case ChatFormat::kLlama3: return "llama3";
    case ChatFormat::kPlain: return "plain";
  }
  return "plain";
}

std::optional<ChatFormat> detect_chat_format(std::string_view t) {
  if (t.find("<|im_start|>") != std::string_view::npos) return ChatFormat::kChatml;
  if (t.find("<|start_header_id|>") != std::string_view::npos) return ChatFormat::kLlama3;
  return std::nullopt;
}

static ChatFormat chat_format_from_document(const nlohmann::json& doc, const std::string& where);

ChatFormat chat_format_from_config(const std::string& path) {
  const std::string where = "tokenizer config '" + path + "'";
  std::ifstream in(path, std::ios::binary);
  core::require(static_cast<bool>(in), where + " cannot be opened");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const nlohmann::json doc = parse_json(text, where);
  return with_json_errors(where, [&] { return chat_format_from_document(doc, where); });
}

static ChatFormat chat_format_from_document(const nlohmann::json& doc, const std::string& where) {
  core::require(doc.is_object() && doc.contains("chat_template"),
                where + ": no \"chat_template\"; name a format (chatml, llama3, plain)");
  const nlohmann::json& ct = doc["chat_template"];
  std::string text;
  if (ct.is_string()) {
    text = ct;
  } else if (ct.is_array() && !ct.empty()) {
    const nlohmann::json* chosen = &ct[0];
    for (const auto& item : ct)
      if (item.is_object() && item.value("name", std::string()) == "default") chosen = &item;
    core::require(chosen->is_object() && chosen->contains("template") && (*chosen)["template"].is_string(),
                  where + ": chat_template entries must be {\"name\": ..., \"template\": \"...\"}");
    text = (*chosen)["template"];
  } else {
    throw core::UserError(where + ": chat_template must be a string or a list of named templates");
  }
  auto format = detect_chat_format(text);
  core::require(format.has_value(), where + ": chat_template is neither chatml (<|im_start|>) nor "
                                            "llama3 (<|start_header_id|>); name a format explicitly");
  return *format;
}

std::string apply_chat_template(ChatFormat format, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
  const auto& roles = roles_of(format);
  std::string out;
  if (format == ChatFormat::kLlama3) out += "<|begin_of_text|>";
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (std::find(roles.begin(), roles.end(), m.role) == roles.end()) {
      std::string valid;
      for (const auto& r : roles) valid += (valid.empty() ? "" : ", ") + r;
      throw core::UserError("chat template " + chat_format_name(format) + ": message " +
                            std::to_string(i) + " has role '" + m.role + "' (valid: " + valid + ")");
    }
    switch (format) {
      case ChatFormat::kChatml:
        out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
        break;
      case ChatFormat::kLlama3:
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
        break;
      case ChatFormat::kPlain:
        out += "<|" + m.role + "|>" + m.content;
        break;
    }
  }
  if (add_generation_prompt) {
    switch (format) {
      case ChatFormat::kChatml: out += "<|im_start|>assistant\n"; break;
      case ChatFormat::kLlama3: out += "<|start_header_id|>assistant<|end_header_id|>\n\n"; break;
      case ChatFormat::kPlain: out += "<|assistant|>"; break;
    }
  }
  return out;
}

}  // namespace rlpp::nn

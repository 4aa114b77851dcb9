// Chat templates against hand-written prompts (the strings Qwen's and Llama-3's Jinja templates
// render for the same messages).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/chat_template.h"
#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::nn {
namespace {

const std::vector<ChatMessage> kChat = {
    {"system", "You are terse."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "And 3+3?"}};

TEST(ChatTemplate, Chatml) {
  EXPECT_EQ(apply_chat_template(ChatFormat::kChatml, kChat, /*add_generation_prompt=*/true),
            "<|im_start|>system\nYou are terse.<|im_end|>\n"
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template(ChatFormat::kChatml, {{"user", "hi"}}, false),
            "<|im_start|>user\nhi<|im_end|>\n");
}

TEST(ChatTemplate, Llama3TrimsContent) {
  EXPECT_EQ(apply_chat_template(ChatFormat::kLlama3, {{"system", " Be brief.\n"}, {"user", "Hi"}}, true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, PlainForTheCharacterTokenizer) {
  EXPECT_EQ(apply_chat_template(ChatFormat::kPlain, {{"user", "12+3="}, {"assistant", "15"}}, false),
            "<|user|>12+3=<|assistant|>15");
  EXPECT_EQ(apply_chat_template(ChatFormat::kPlain, {{"user", "1+1="}}, true), "<|user|>1+1=<|assistant|>");
  EXPECT_EQ(apply_chat_template(ChatFormat::kPlain, {}, false), "");
}

TEST(ChatTemplate, UnknownRolesAndNamesAreRejected) {
  try {
    apply_chat_template(ChatFormat::kChatml, {{"user", "a"}, {"robot", "b"}}, false);
    FAIL();
  } catch (const core::UserError& e) {
    EXPECT_STREQ(e.what(), "chat template chatml: message 1 has role 'robot' (valid: system, user, "
                           "assistant, tool)");
  }
  EXPECT_THROW(apply_chat_template(ChatFormat::kPlain, {{"ipython", "x"}}, false), core::UserError);
  EXPECT_EQ(apply_chat_template(ChatFormat::kPlain, {{"tool", "x"}}, false), "<|tool|>x");
  EXPECT_EQ(chat_format_from_name("llama3"), ChatFormat::kLlama3);
  EXPECT_EQ(chat_format_name(chat_format_from_name("chatml")), "chatml");
  try {
    chat_format_from_name("vicuna");
    FAIL();
  } catch (const core::UserError& e) {
    EXPECT_STREQ(e.what(), "chat template 'vicuna' is not known (known: chatml, llama3, plain)");
  }
}

TEST(ChatTemplate, DetectedFromTokenizerConfig) {
  // abridged from Qwen2's and Llama-3's tokenizer_config.json
  const std::string qwen =
      R"({"chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}", "eos_token": "<|im_end|>"})";
  const std::string llama =
      R"({"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"}]})";
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "rlpp_qwen_config.json") << qwen;
  std::ofstream(dir + "rlpp_llama_config.json") << llama;
  std::ofstream(dir + "rlpp_other_config.json") << R"({"chat_template": "{{ messages }}"})";
  std::ofstream(dir + "rlpp_none_config.json") << R"({"eos_token": "</s>"})";
  EXPECT_EQ(chat_format_from_config(dir + "rlpp_qwen_config.json"), ChatFormat::kChatml);
  EXPECT_EQ(chat_format_from_config(dir + "rlpp_llama_config.json"), ChatFormat::kLlama3);
  EXPECT_THROW(chat_format_from_config(dir + "rlpp_other_config.json"), core::UserError);
  EXPECT_THROW(chat_format_from_config(dir + "rlpp_none_config.json"), core::UserError);
  EXPECT_THROW(chat_format_from_config(dir + "rlpp_missing_config.json"), core::UserError);
  EXPECT_FALSE(detect_chat_format("{{ bos_token }}").has_value());
}

TEST(ChatTemplate, ChatmlPromptTokenizesWithSpecialIds) {
  auto tok = load_tokenizer(std::string(RLPP_SOURCE_DIR) + "/tests/fixtures/tokenizer/qwen2_style.json");
  const auto ids = tok->encode(apply_chat_template(ChatFormat::kChatml, {{"user", "hi"}}, true));
  const int64_t start = tok->token_to_id("<|im_start|>").value();
  const int64_t end = tok->token_to_id("<|im_end|>").value();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), start), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), end), 1);
  EXPECT_EQ(ids.front(), start);
}

}  // namespace
}  // namespace rlpp::nn

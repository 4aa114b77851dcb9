// Byte-level BPE tokenizer read from a Hugging Face tokenizer.json (GPT-2, Qwen2, Llama-3 style).
// Pipeline of encode: split on added tokens -> normalizer (null or NFC) -> pre_tokenizer
// (ByteLevel / Split / Sequence) -> BPE model -> post_processor (ByteLevel, TemplateProcessing,
// RobertaProcessing, BertProcessing, Sequence) when add_special. decode: ids -> tokens -> ByteLevel
// decoder, returning raw bytes (no U+FFFD replacement), so decode(encode(s)) == s for any bytes s
// when the tokenizer has no normalizer and no lstrip/rstrip added tokens.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::nn {

class BpeTokenizer : public Tokenizer {
 public:
  // Parses the text of a tokenizer.json; `where` (usually the path) names it in error messages.
  // Throws core::UserError on malformed JSON, unsupported components, merges that refer to tokens
  // missing from the vocab, duplicate ids, ...
  static std::unique_ptr<BpeTokenizer> from_string(const std::string& json_text,
                                                   const std::string& where);
  static std::unique_ptr<BpeTokenizer> from_json(const nlohmann::json& doc, const std::string& where);
  // Reads `path`, then read_config_next_to(path).
  static std::unique_ptr<BpeTokenizer> from_file(const std::string& path);
  // Sets bos/eos/pad ids from the tokenizer_config.json in the folder of `tokenizer_path`, if there
  // is one (without it they are guessed: BOS = what the post-processor puts first, EOS and PAD by
  // conventional names such as <|endoftext|>, <|end_of_text|>, </s>, <pad>).
  void read_config_next_to(const std::string& tokenizer_path);
  ~BpeTokenizer() override;

  std::vector<int64_t> encode(std::string_view text, bool add_special = false) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const override;
  // max id + 1 over the vocab and the added tokens (the embedding table's row count).
  int64_t vocab_size() const override;
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int64_t id) const override;
  // Whether `id` is an added token flagged special (dropped by decode(ids, skip_special=true)).
  bool is_special(int64_t id) const;

 private:
  struct Impl;
  explicit BpeTokenizer(std::unique_ptr<Impl> impl);
  static std::unique_ptr<BpeTokenizer> build(const nlohmann::json& doc, const std::string& where);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rlpp::nn

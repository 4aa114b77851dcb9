// Character tokenizer for rlpp's generated tasks: one id per special token, then one id per
// character (Unicode code point) of an alphabet. Its file is small JSON:
//   {"format": "rlpp-char-tokenizer", "version": 1, "alphabet": "0123456789+=",
//    "special_tokens": ["<pad>", "<bos>", "<eos>", "<|user|>", "<|assistant|>"],
//    "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": null}
// Ids: special_tokens[i] -> i, alphabet character j -> len(special_tokens) + j.
#pragma once
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::nn {

class AddedTokenMatcher;

// The distinct characters (code points) of some texts, in code point order: the alphabet of a
// CharTokenizerSpec. Collecting bytes instead (a std::set<char>) splits multi-byte characters
// and sorts their bytes apart, which is not UTF-8.
class AlphabetBuilder {
 public:
  // UserError "<where>: not UTF-8 at byte <k>" when `text` is not well-formed UTF-8.
  void add(std::string_view text, const std::string& where);
  std::string alphabet() const;
  size_t size() const { return code_points_.size(); }

 private:
  std::set<char32_t> code_points_;
};

struct CharTokenizerSpec {
  std::string alphabet;                     // UTF-8; each code point is one token
  std::vector<std::string> special_tokens;  // matched in text before characters (longest first)
  std::optional<std::string> bos_token, eos_token, pad_token;  // each one of special_tokens
  std::optional<std::string> unk_token;  // one of special_tokens; none: unknown characters throw
};

class CharTokenizer : public Tokenizer {
 public:
  static constexpr const char* kFormat = "rlpp-char-tokenizer";
  static constexpr int kVersion = 1;

  // Throws core::UserError on an empty or repeated character, a repeated or empty special token,
  // or a bos/eos/pad/unk token that is not among special_tokens.
  explicit CharTokenizer(CharTokenizerSpec spec);
  ~CharTokenizer() override;
  // Parses the file format above; `where` names the source in error messages.
  static std::unique_ptr<CharTokenizer> from_string(const std::string& json_text, const std::string& where);
  static std::unique_ptr<CharTokenizer> from_json(const nlohmann::json& doc, const std::string& where);
  static std::unique_ptr<CharTokenizer> from_file(const std::string& path);
  std::string to_json() const;
  // Writes to_json() atomically (temporary file, then rename).
  void save(const std::string& path) const;

  // Throws core::UserError naming the character and its byte offset when a character is outside
  // the alphabet and there is no unk_token, or when `text` is not UTF-8.
  std::vector<int64_t> encode(std::string_view text, bool add_special = false) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int64_t id) const override;
  const CharTokenizerSpec& spec() const { return spec_; }

 private:
  static std::unique_ptr<CharTokenizer> build(const nlohmann::json& doc, const std::string& where);

  CharTokenizerSpec spec_;
  std::vector<std::string> tokens_;  // id -> token
  std::unordered_map<std::string, int64_t> ids_;
  std::unique_ptr<AddedTokenMatcher> specials_;
  int64_t unk_id_ = -1;
};

}  // namespace rlpp::nn

// Pre-tokenizers of a tokenizer.json: they cut normalised text into pre-tokens before BPE.
// Supported: ByteLevel (GPT-2: optional prefix space, optional GPT-2 regex split, bytes -> byte-level
// characters), Split (a regex or literal, with the Hugging Face delimiter behaviours) and Sequence.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/tokenizer/regex.h"

namespace rlpp::nn {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces each piece by its sub-pieces (empty pieces are dropped).
  virtual void apply(std::vector<std::string>* pieces) const = 0;
};

// GPT-2's pre-tokenisation regex (also ByteLevel's when use_regex is true).
extern const char* const kGpt2SplitPattern;

// Builds the pre-tokenizer described by `spec` (null -> nullptr). Throws core::UserError naming
// `where` on an unknown type or a malformed field.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::string& where);

}  // namespace rlpp::nn

// Added tokens of a tokenizer.json (special tokens such as <|im_end|>, and plain added words):
// the input is cut on them before normalisation and pre-tokenisation, so that they always map to
// their own id. Matching is leftmost-longest, as in Hugging Face's AddedVocabulary.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nn/tokenizer/regex.h"

namespace rlpp::nn {

struct AddedToken {
  int64_t id = -1;
  std::string content;
  bool special = false;
  bool single_word = false;  // match only where no word character touches either end
  bool lstrip = false;       // swallow whitespace on the left
  bool rstrip = false;       // swallow whitespace on the right
  bool normalized = false;   // matched on normalised text (else on the raw input)
};

// A piece of input: a token's id (id >= 0) or text still to be tokenised (id == -1).
struct Segment {
  int64_t id = -1;
  std::string text;
};

class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);
  // Appends the segments of `text`: its matched tokens and the text between them.
  void split(std::string_view text, std::vector<Segment>* out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::vector<int>> by_first_byte_;  // first byte -> tokens, longest first
  Regex word_char_;
};

}  // namespace rlpp::nn

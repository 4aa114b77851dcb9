#include "nn/tokenizer/added_tokens.h"

#include <algorithm>

#include "nn/tokenizer/unicode.h"

namespace rlpp::nn {

namespace {
// A word character for single_word tokens: Unicode's \w (UTS #18 annex C, what Rust's regex
// crate uses): Alphabetic, marks, decimal digits, connector punctuation, ZWNJ/ZWJ. PCRE2's own
// \w differs (it takes every number, such as '²', and no marks).
constexpr const char* kWordChar = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens)
    : tokens_(std::move(tokens)), by_first_byte_(256), word_char_(kWordChar, "added tokens") {
  for (int i = 0; i < static_cast<int>(tokens_.size()); ++i) {
    if (tokens_[i].content.empty()) continue;
    by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
  }
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Segment>* out) const {
  // Whether the character ending at `end` / starting at `begin` is a word character.
  auto word_before = [&](size_t end) {
    if (end == 0) return false;
    size_t b = end - 1;
    while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80 && end - b < 4) --b;
    return word_char_.matches_at(text, b);
  };
  auto word_after = [&](size_t begin) {
    return begin < text.size() && word_char_.matches_at(text, begin);
  };
  size_t emitted = 0;  // text before this is already in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    int found = -1;
    for (int i : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      if (text.compare(pos, tokens_[i].content.size(), tokens_[i].content) == 0) {
        found = i;
        break;
      }
    }
    if (found < 0) {
      ++pos;
      continue;
    }
    const AddedToken& t = tokens_[found];
    size_t begin = pos, end = pos + t.content.size();
    pos = end;  // a rejected match is still consumed, as by Aho-Corasick's non-overlapping search
    if (t.single_word && (word_before(begin) || word_after(end))) continue;
    if (t.lstrip) {
      while (begin > emitted) {
        size_t b = begin - 1;
        while (b > emitted && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
        char32_t cp = 0;
        if (utf8_length_at(text, b, &cp) != begin - b || !is_unicode_whitespace(cp)) break;
        begin = b;
      }
    }
    if (t.rstrip) {
      while (end < text.size()) {
        char32_t cp = 0;
        size_t len = utf8_length_at(text, end, &cp);
        if (len == 0 || !is_unicode_whitespace(cp)) break;
        end += len;
      }
      pos = end;
    }
    if (begin > emitted) out->push_back(Segment{-1, std::string(text.substr(emitted, begin - emitted))});
    out->push_back(Segment{t.id, std::string()});
    emitted = end;
  }
  if (emitted < text.size()) out->push_back(Segment{-1, std::string(text.substr(emitted))});
}

}  // namespace rlpp::nn

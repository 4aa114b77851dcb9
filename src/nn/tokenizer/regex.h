// PCRE2 wrapper for the pre-tokenisation patterns of tokenizer.json files. Those patterns are
// written for Oniguruma / Rust `regex` (\p{L}, \p{N}, (?i:...), \s+(?!\S)); compiled with UTF + UCP
// PCRE2 reads them the same way, except that PCRE2's \s also matches U+180E, so \s and \S are
// rewritten to the Unicode White_Space set that Oniguruma and Rust use.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rlpp::nn {

class Regex {
 public:
  // Throws core::UserError("<where>: ...") when the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Byte ranges [begin, end) of the successive leftmost non-overlapping matches. Invalid UTF-8 in
  // `text` never matches (PCRE2_MATCH_INVALID_UTF) but does not stop the search.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  // Whether the pattern matches at exactly `offset` (anchored there).
  bool matches_at(std::string_view text, size_t offset) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

// `s` with its Unicode White_Space-sensitive escapes (\s, \S) spelled out as explicit sets.
std::string rewrite_whitespace_escapes(const std::string& pattern);
// `literal` escaped so that it matches itself.
std::string regex_escape(std::string_view literal);

}  // namespace rlpp::nn

#include "rlpp/harness/rouge.h"

#include <algorithm>
#include <cctype>

namespace rlpp::harness {

std::vector<std::string> rouge_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) out.push_back(std::move(word));
    word.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (std::isalnum(c)) word += static_cast<char>(std::tolower(c));
      else flush();
      ++i;
      continue;
    }
    flush();
    // A UTF-8 lead byte says how long the code point is; stray continuation bytes stand alone.
    size_t len = (c >= 0xF0) ? 4 : (c >= 0xE0) ? 3 : (c >= 0xC0) ? 2 : 1;
    len = std::min(len, text.size() - i);
    out.emplace_back(text.substr(i, len));
    i += len;
  }
  flush();
  return out;
}

size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  // row[j] = LCS(a[0..i), b[0..j)); `diag` carries row_prev[j-1].
  std::vector<size_t> row(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = 0;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = (a[i - 1] == b[j - 1]) ? diag + 1 : std::max(row[j], row[j - 1]);
      diag = up;
    }
  }
  return row[b.size()];
}

double rouge_l_f1(std::string_view candidate, std::string_view reference) {
  const auto c = rouge_tokens(candidate), r = rouge_tokens(reference);
  if (c.empty() && r.empty()) return 1.0;
  if (c.empty() || r.empty()) return 0.0;
  // 2PR/(P+R) with P = L/|c|, R = L/|r| simplifies to 2L/(|c|+|r|): one rounding, so a score of
  // exactly 0.7 compares as 0.7 against the threshold.
  return 2.0 * static_cast<double>(lcs_length(c, r)) / static_cast<double>(c.size() + r.size());
}

}  // namespace rlpp::harness

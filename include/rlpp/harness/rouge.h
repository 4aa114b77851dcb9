// ROUGE-L (Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries"): the F-measure of the
// longest common subsequence of two token sequences,
//   P = LCS / |candidate|,  R = LCS / |reference|,  F1 = 2 P R / (P + R) = 2 LCS / (|c| + |r|)  (beta = 1).
// C³-Bench accepts a string argument when its ROUGE-L F1 against the golden value exceeds 0.7.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace rlpp::harness {

// Tokens for ROUGE: ASCII letters and digits form words (lower-cased); every other ASCII byte
// (space, punctuation) separates them and is dropped; every non-ASCII UTF-8 code point (e.g. a CJK
// character, which has no spaces around it) is a token of its own.
//   "New-York, NY 2024" -> [new, york, ny, 2024];  "北京市" -> [北, 京, 市]
std::vector<std::string> rouge_tokens(std::string_view text);

// Length of the longest common subsequence (O(|a| |b|) dynamic programme, O(|b|) memory).
size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b);

// ROUGE-L F1 of `candidate` against `reference` on rouge_tokens; 1 when both have no tokens, 0 when
// only one has none.
double rouge_l_f1(std::string_view candidate, std::string_view reference);

}  // namespace rlpp::harness

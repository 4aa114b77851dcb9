// Split behaviours (Hugging Face's documented example "the-final--countdown"), the GPT-2 regex on
// hand-checked strings, and the byte-level alphabet.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "nn/tokenizer/pre_tokenizer.h"
#include "nn/tokenizer/regex.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/byte_level.h"

namespace rlpp::nn {
namespace {

using Pieces = std::vector<std::string>;

Pieces run(const nlohmann::json& spec, const std::string& text) {
  auto pt = make_pre_tokenizer(spec, "test");
  Pieces pieces{text};
  pt->apply(&pieces);
  return pieces;
}

nlohmann::json split(const char* behavior, bool invert = false) {
  return {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
}

TEST(TokenizerPreTokenize, SplitBehaviours) {
  const std::string s = "the-final--countdown";
  EXPECT_EQ(run(split("Removed"), s), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(run(split("Isolated"), s), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(run(split("MergedWithPrevious"), s), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(run(split("MergedWithNext"), s), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(run(split("Contiguous"), s), (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(run(split("Removed", /*invert=*/true), s), (Pieces{"-", "-", "-"}));
}

TEST(TokenizerPreTokenize, Gpt2RegexPieces) {
  nlohmann::json spec = {{"type", "Split"}, {"pattern", {{"Regex", kGpt2SplitPattern}}},
                         {"behavior", "Isolated"}};
  EXPECT_EQ(run(spec, "I'm  here 123!!\n"), (Pieces{"I", "'m", " ", " here", " 123", "!!", "\n"}));
  // \s+(?!\S) leaves the last space to the next word
  EXPECT_EQ(run(spec, "a   b"), (Pieces{"a", "  ", " b"}));
  // U+180E is not White_Space (Unicode >= 6.3): it is "other", not whitespace, as in Rust/Oniguruma
  EXPECT_EQ(run(spec, "a \xE1\xA0\x8E"), (Pieces{"a", " \xE1\xA0\x8E"}));
  // bytes that are not UTF-8 stay in the text, between matches
  EXPECT_EQ(run(spec, "ab\xFF\xFE cd"), (Pieces{"ab", "\xFF\xFE", " cd"}));
}

TEST(TokenizerPreTokenize, WhitespaceEscapesAreRewrittenOutsideAndInsideClasses) {
  using Spans = std::vector<std::pair<size_t, size_t>>;
  // \s is White_Space: NEL (U+0085) and U+3000 yes, U+180E no
  EXPECT_EQ(Regex("\\s", "test").find_all("\xC2\x85\xE1\xA0\x8E\xE3\x80\x80"), (Spans{{0, 2}, {5, 8}}));
  EXPECT_EQ(Regex("\\S+", "test").find_all("a\xE1\xA0\x8E b"), (Spans{{0, 4}, {5, 6}}));
  // an escaped backslash followed by 's' is not \s
  EXPECT_EQ(Regex("\\\\s", "test").find_all("s \\s"), (Spans{{2, 4}}));
  Regex re("[^\\s\\p{L}]+", "test");
  EXPECT_EQ(re.find_all("ab12 \xE3\x80\x80!"), (Spans{{2, 4}, {8, 9}}));
}

TEST(TokenizerPreTokenize, RejectsUnknownTypesAndBadRegexes) {
  EXPECT_THROW(make_pre_tokenizer({{"type", "Whitespace"}}, "test"), core::UserError);
  EXPECT_THROW(make_pre_tokenizer({{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}}, "test"),
               core::UserError);
  EXPECT_THROW(run(split("Sideways"), "x"), core::UserError);
}

TEST(TokenizerByteLevel, AlphabetIsGpt2s) {
  EXPECT_EQ(byte_level_char(' '), "\xC4\xA0");   // Ġ U+0120
  EXPECT_EQ(byte_level_char('\n'), "\xC4\x8A");  // Ċ U+010A
  EXPECT_EQ(byte_level_char(0), "\xC4\x80");     // Ā U+0100
  EXPECT_EQ(byte_level_char('A'), "A");
  EXPECT_EQ(byte_level_char(0xFF), "\xC3\xBF");  // ÿ
  EXPECT_EQ(byte_level_char(0xAD), "\xC5\x83");  // soft hyphen -> U+0143, the last one
  std::set<std::string> distinct;
  std::string all;
  for (int b = 0; b < 256; ++b) {
    distinct.insert(byte_level_char(static_cast<unsigned char>(b)));
    all.push_back(static_cast<char>(b));
  }
  EXPECT_EQ(distinct.size(), 256u);
  std::string back;
  ASSERT_TRUE(from_byte_level(to_byte_level(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(from_byte_level("a b", &back));  // ' ' itself is not in the alphabet
}

}  // namespace
}  // namespace rlpp::nn

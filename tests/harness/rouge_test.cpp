#include "rlpp/harness/rouge.h"

#include <gtest/gtest.h>

namespace rlpp::harness {
namespace {

TEST(RougeTokens, WordsLowercasedPunctuationDroppedCjkPerCharacter) {
  EXPECT_EQ(rouge_tokens("New-York, NY 2024!"), (std::vector<std::string>{"new", "york", "ny", "2024"}));
  EXPECT_EQ(rouge_tokens("北京市"), (std::vector<std::string>{"北", "京", "市"}));
  EXPECT_EQ(rouge_tokens("go 北京 now"), (std::vector<std::string>{"go", "北", "京", "now"}));
  EXPECT_TRUE(rouge_tokens(" ,.; ").empty());
}

TEST(Lcs, HandCounted) {
  using V = std::vector<std::string>;
  EXPECT_EQ(lcs_length(V{"a", "b", "c", "d"}, V{"a", "c", "d"}), 3u);
  EXPECT_EQ(lcs_length(V{"a", "b", "c", "d"}, V{"d", "c", "b", "a"}), 1u);
  EXPECT_EQ(lcs_length(V{}, V{"a"}), 0u);
  EXPECT_EQ(lcs_length(V{"x", "a", "y", "b"}, V{"a", "b", "x", "y"}), 2u);
}

struct RougeCase {
  const char* cand;
  const char* ref;
  double f1;  // computed by hand: F1 = 2 P R / (P + R), P = L/|c|, R = L/|r|
};

TEST(RougeL, TableOfHandComputedValues) {
  const RougeCase cases[] = {
      // [the cat sat on the mat] vs [the cat is on the mat]: L = 5, P = R = 5/6.
      {"the cat sat on the mat", "the cat is on the mat", 5.0 / 6.0},
      // 3 vs 2 tokens, L = 2: P = 2/3, R = 1 -> F = (4/3)/(5/3) = 0.8.
      {"New York City", "new york", 0.8},
      // [weather in rome] vs [weather forecast for rome]: L = 2, P = 2/3, R = 1/2 -> 4/7.
      {"Weather in Rome", "Weather forecast for Rome", 4.0 / 7.0},
      // characters: L = 2 of 3 and 2 -> 0.8.
      {"北京市", "北京", 0.8},
      // reversed: L = 1, P = R = 1/4.
      {"a b c d", "d c b a", 0.25},
      {"Meeting notes, Q3!", "meeting notes q3", 1.0},
      {"", "", 1.0},
      {"abc", "", 0.0},
      {"x y", "z w", 0.0},
      // exactly at the threshold: L = 7 of 10 and 10 -> 0.7 (not > 0.7)
      {"a b c d e f g x y z", "a b c d e f g h i j", 0.7},
  };
  for (const auto& c : cases) EXPECT_NEAR(rouge_l_f1(c.cand, c.ref), c.f1, 1e-12) << c.cand << " vs " << c.ref;
  EXPECT_FALSE(rouge_l_f1("a b c d e f g x y z", "a b c d e f g h i j") > 0.7);
}

}  // namespace
}  // namespace rlpp::harness

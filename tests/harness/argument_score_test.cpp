#include "rlpp/harness/argument_score.h"

#include <gtest/gtest.h>

namespace rlpp::harness {
namespace {

using nlohmann::json;

struct MatchCase {
  json pred, gold;
  double want;
};

TEST(ValueMatch, Table) {
  const MatchCase cases[] = {
      {"Paris", "Paris", 1.0},
      {"paris", "PARIS", 1.0},                                  // case-insensitive
      {"New York City", "new york", 1.0},                       // ROUGE-L 0.8 > 0.7
      {"Weather in Rome", "Weather forecast for Rome", 0.0},    // ROUGE-L 4/7
      {"a b c d e f g x y z", "a b c d e f g h i j", 0.0},      // ROUGE-L 0.7, not > 0.7
      {5, 5, 1.0},
      {5.0, 5, 1.0},                                            // same number
      {5, 6, 0.0},
      {"5", 5, 0.0},                                            // a string is not a number
      {true, true, 1.0},
      {true, false, 0.0},
      {nullptr, nullptr, 1.0},
      {json::array({"b", "a"}), json::array({"a", "b"}), 1.0},  // arrays compared sorted
      {json::array({"a", "x"}), json::array({"a", "b"}), 0.5},  // sorted [a,x] vs [a,b]: 1, 0
      {json::array({"a"}), json::array({"a", "b"}), 0.0},       // lengths differ
      {json::array(), json::array(), 1.0},
      {json{{"x", 1}, {"y", "Q"}}, json{{"x", 1}, {"y", "q"}}, 1.0},
      {json{{"x", 1}}, json{{"x", 1}, {"y", 2}}, 0.5},          // y missing: (1 + 0) / 2
      {json{{"x", 1}, {"z", 3}}, json{{"x", 1}}, 0.5},          // z extra: (1 + 0) / 2
  };
  for (const auto& c : cases) EXPECT_DOUBLE_EQ(value_match(c.pred, c.gold), c.want) << c.pred << " vs " << c.gold;
}

const json kParams = json::parse(R"({"type": "object",
  "properties": {"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"},
                 "count": {"type": "integer"}},
  "required": ["to", "subject"]})");

TEST(ScoreCall, ExactCallPasses) {
  const json gold{{"to", "alice@example.com"}, {"subject", "Hi"}};
  const auto s = score_call(gold, gold, kParams, "");
  EXPECT_DOUBLE_EQ(s.score, 1.0);
  EXPECT_TRUE(s.passed);
  EXPECT_EQ(s.first_error, ArgError::kNone);
}

TEST(ScoreCall, OptionalKeyNotInGoldenIsNotScored) {
  const json gold{{"to", "a@x.com"}, {"subject", "Hi"}};
  const json pred{{"to", "a@x.com"}, {"subject", "Hi"}, {"body", "hello"}};
  EXPECT_DOUBLE_EQ(score_call(pred, gold, kParams, "").score, 1.0);
}

TEST(ScoreCall, MissingRequiredKey) {
  // keys {to, subject}: to = 1, subject missing = 0 -> 0.5 < 0.7
  const json gold{{"to", "a@x.com"}, {"subject", "Hi"}};
  const auto s = score_call(json{{"to", "a@x.com"}}, gold, kParams, "");
  EXPECT_DOUBLE_EQ(s.score, 0.5);
  EXPECT_FALSE(s.passed);
  EXPECT_EQ(s.first_error, ArgError::kMissingRequired);
}

TEST(ScoreCall, HallucinatedKeyCountsZero) {
  // keys {to, subject, cc}: 1 + 1 + 0 over 3 = 2/3 < 0.7
  const json gold{{"to", "a@x.com"}, {"subject", "Hi"}};
  const json pred{{"to", "a@x.com"}, {"subject", "Hi"}, {"cc", "b@x.com"}};
  const auto s = score_call(pred, gold, kParams, "");
  EXPECT_NEAR(s.score, 2.0 / 3.0, 1e-12);
  EXPECT_FALSE(s.passed);
  EXPECT_EQ(s.first_error, ArgError::kParamHallucination);
}

TEST(ScoreCall, ThresholdPassesThreeOfFour) {
  // 4 golden keys, one wrong: 3/4 = 0.75 >= 0.7 passes; the wrong value is still reported.
  const json gold{{"to", "a@x.com"}, {"subject", "Hi"}, {"body", "see you"}, {"count", 2}};
  const json pred{{"to", "a@x.com"}, {"subject", "Hi"}, {"body", "see you"}, {"count", 3}};
  const auto s = score_call(pred, gold, kParams, "they want 3 copies");
  EXPECT_DOUBLE_EQ(s.score, 0.75);
  EXPECT_TRUE(s.passed);
  EXPECT_EQ(s.first_error, ArgError::kValueError);  // "3" appears in the dialogue
}

TEST(ScoreCall, TypeErrorValueHallucinationAndValueError) {
  const json gold{{"to", "a@x.com"}, {"subject", "Hi"}, {"count", 2}};
  EXPECT_EQ(score_call(json{{"to", "a@x.com"}, {"subject", "Hi"}, {"count", "2"}}, gold, kParams, "").first_error,
            ArgError::kTypeError);
  // "zed@x.com" appears nowhere in the dialogue: made up.
  const std::string ctx = "email alice, her address is a@x.com; bob is b@x.com";
  EXPECT_EQ(score_call(json{{"to", "zed@x.com"}, {"subject", "Hi"}, {"count", 2}}, gold, kParams, ctx).first_error,
            ArgError::kValueHallucination);
  // "b@x.com" is in the dialogue, just the wrong one.
  EXPECT_EQ(score_call(json{{"to", "B@x.com"}, {"subject", "Hi"}, {"count", 2}}, gold, kParams, ctx).first_error,
            ArgError::kValueError);
}

TEST(ScoreCall, ArgumentsThatAreNotAnObjectFail) {
  const auto s = score_call(json("{broken"), json{{"to", "a"}}, kParams, "");
  EXPECT_FALSE(s.passed);
  EXPECT_EQ(s.first_error, ArgError::kTypeError);
}

TEST(ScoreCall, EmptyGoldenAndPredictionPass) {
  EXPECT_TRUE(score_call(json::object(), json::object(), kParams, "").passed);
}

}  // namespace
}  // namespace rlpp::harness

// Graders: hand-computed cases for every named grader, number parsing, answer extraction, and
// adversarial responses (huge numbers, NaN/inf text, malformed input, non-ASCII, very long text)
// that must give 0 without throwing.
#include <gtest/gtest.h>

#include <string>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/env/text/grader.h"

namespace rlpp::env::text {
namespace {

double grade(const std::string& name, const std::string& response, const std::string& reference,
             const GraderOptions& opts = {}) {
  return make_grader(name, opts)->grade(response, reference);
}

TEST(Grader, ParseNumberHandValues) {
  EXPECT_EQ(parse_number("42"), 42.0);
  EXPECT_EQ(parse_number("  -7 "), -7.0);
  EXPECT_EQ(parse_number("+3"), 3.0);
  EXPECT_EQ(parse_number("\xE2\x88\x92" "5"), -5.0);  // U+2212 minus
  EXPECT_EQ(parse_number("3.25"), 3.25);
  EXPECT_EQ(parse_number(".5"), 0.5);
  EXPECT_EQ(parse_number("2."), 2.0);
  EXPECT_EQ(parse_number("1,234"), 1234.0);
  EXPECT_EQ(parse_number("1,234,567.5"), 1234567.5);
  EXPECT_EQ(parse_number("3/4"), 0.75);
  EXPECT_EQ(parse_number("-3/4"), -0.75);
  EXPECT_EQ(parse_number("1.5/2"), 0.75);
  EXPECT_EQ(parse_number("\\frac{3}{4}"), 0.75);
  EXPECT_EQ(parse_number("-\\dfrac{1}{8}"), -0.125);
  EXPECT_EQ(parse_number("2.5e3"), 2500.0);
  EXPECT_EQ(parse_number("1E-2"), 0.01);
  EXPECT_EQ(parse_number("$12$"), 12.0);
  EXPECT_EQ(parse_number("12."), 12.0);
}

TEST(Grader, ParseNumberRejectsMalformedAndNonFinite) {
  for (const char* bad : {"", " ", ".", "-", "abc", "12abc", "1,23", "12,3456", ",123", "1,,234", "1e", "1e+",
                          "3/0", "0/0", "1/2/3", "inf", "-inf", "nan", "NaN", "Infinity", "1e400", "-1e400",
                          "1e99999999999999999999", "0x10", "--5", "4 5", "\\frac{1}{0}", "\\frac{1}", "\\sqrt{2}",
                          "\xE2\x80\x8B" "5", "5\xC2\xA0", "\xFF\xFE"}) {
    EXPECT_FALSE(parse_number(bad).has_value()) << "'" << bad << "'";
  }
  const std::string ten_pow_400 = "1" + std::string(400, '0');
  EXPECT_FALSE(parse_number(ten_pow_400).has_value());
  EXPECT_EQ(parse_number("1" + std::string(300, '0')), 1e300);
}

TEST(Grader, ExtractBoxedTakesTheLastBalancedBox) {
  EXPECT_EQ(extract_boxed("so \\boxed{12}"), "12");
  EXPECT_EQ(extract_boxed("\\boxed{1} then \\boxed{ \\frac{1}{2} }."), "\\frac{1}{2}");
  EXPECT_EQ(extract_boxed("\\boxed {x^{2}}"), "x^{2}");
  EXPECT_FALSE(extract_boxed("no box").has_value());
  EXPECT_FALSE(extract_boxed("\\boxed{12").has_value());        // truncated
  EXPECT_FALSE(extract_boxed("\\boxed{1} \\boxed{{2}").has_value());  // the last one is unbalanced
  EXPECT_FALSE(extract_boxed("\\boxed{}").has_value());
  EXPECT_FALSE(extract_boxed("\\boxed 5").has_value());
  EXPECT_FALSE(extract_boxed("\\boxed").has_value());
}

TEST(Grader, ExtractAnswerSpanTakesTheLastMarker) {
  EXPECT_EQ(extract_answer_span("work\nAnswer: 42"), "42");
  EXPECT_EQ(extract_answer_span("The answer is 17."), "17");
  EXPECT_EQ(extract_answer_span("the answer is: blue\nthanks"), "blue");
  EXPECT_EQ(extract_answer_span("Answer: 1\nNo wait, the answer is 2"), "2");
  EXPECT_EQ(extract_answer_span("**Answer:** 9"), "9");
  EXPECT_EQ(extract_answer_span("ANSWER: **x = 3**"), "x = 3");
  EXPECT_FALSE(extract_answer_span("42").has_value());
  EXPECT_FALSE(extract_answer_span("Answer:   \n").has_value());
}

TEST(Grader, ExactComparesTheTrimmedFinalLine) {
  EXPECT_EQ(grade("exact", "1+1=2\n  2 \n", "2"), 1.0);
  EXPECT_EQ(grade("exact", "2", " 2 "), 1.0);
  EXPECT_EQ(grade("exact", "2.0", "2"), 0.0);
  EXPECT_EQ(grade("exact", "Paris\nBerlin", "Paris"), 0.0);
  EXPECT_EQ(grade("exact", "", ""), 0.0);  // no answer is never right
}

TEST(Grader, NumericUsesTolerances) {
  EXPECT_EQ(grade("numeric", "work\n1,234", "1234"), 1.0);
  EXPECT_EQ(grade("numeric", "0.75", "3/4"), 1.0);
  EXPECT_EQ(grade("numeric", "-2.50", "-5/2"), 1.0);
  EXPECT_EQ(grade("numeric", "1.2e3", "1200"), 1.0);
  EXPECT_EQ(grade("numeric", "0.3333", "1/3"), 0.0);
  GraderOptions loose;
  loose.rel_tol = 1e-3;
  EXPECT_EQ(grade("numeric", "0.3333", "1/3", loose), 1.0);   // |0.3333-1/3| = 3.3e-5 <= 1e-3/3
  EXPECT_EQ(grade("numeric", "0.33", "1/3", loose), 0.0);     // 3.3e-3 > 3.3e-4
  GraderOptions abs;
  abs.rel_tol = 0.0;
  abs.abs_tol = 0.5;
  EXPECT_EQ(grade("numeric", "100.4", "100", abs), 1.0);
  EXPECT_EQ(grade("numeric", "100.6", "100", abs), 0.0);
  EXPECT_EQ(grade("numeric", "5", "five"), 0.0);              // the reference must parse too
  EXPECT_EQ(grade("numeric", "the answer is 5", "5"), 0.0);   // the whole final line is the number
}

TEST(Grader, BoxedComparesExactlyOrNumerically) {
  EXPECT_EQ(grade("boxed", "so $\\boxed{\\frac{1}{2}}$", "0.5"), 1.0);
  EXPECT_EQ(grade("boxed", "\\boxed{x+1}", "x+1"), 1.0);
  EXPECT_EQ(grade("boxed", "\\boxed{x+1}", "x + 1"), 0.0);
  EXPECT_EQ(grade("boxed", "\\boxed{3} \\boxed{4}", "3"), 0.0);
  EXPECT_EQ(grade("boxed", "\\boxed{3", "3"), 0.0);
  EXPECT_EQ(grade("boxed", "3", "3"), 0.0);
  GraderOptions exact;
  exact.compare = "exact";
  EXPECT_EQ(grade("boxed", "\\boxed{0.50}", "0.5", exact), 0.0);
  EXPECT_EQ(grade("boxed", "\\boxed{0.50}", "0.5"), 1.0);
}

TEST(Grader, AnswerSpan) {
  EXPECT_EQ(grade("answer_span", "Let me think.\nThe answer is 1,000.", "1000"), 1.0);
  EXPECT_EQ(grade("answer_span", "Answer: Paris", "Paris"), 1.0);
  EXPECT_EQ(grade("answer_span", "Paris", "Paris"), 0.0);
}

TEST(Grader, RegexMustMatchInFull) {
  EXPECT_EQ(grade("regex", "x\n(a) 12", R"(\(a\) \d+)"), 1.0);
  EXPECT_EQ(grade("regex", "(a) 12 extra", R"(\(a\) \d+)"), 0.0);
  EXPECT_EQ(grade("regex", "cat", "cat|dog"), 1.0);
  EXPECT_EQ(grade("regex", "anything", "([unclosed"), 0.0);  // a broken reference is 0, not a throw
  // a long answer under the cap runs through the backtracking matcher without exhausting the stack
  EXPECT_EQ(grade("regex", std::string(1000, 'a'), "(a|b)*"), 1.0);
  EXPECT_EQ(grade("regex", std::string(1001, 'a'), "(a|b)*"), 0.0);
}

TEST(Grader, SetAcceptsAnyAlternative) {
  EXPECT_EQ(grade("set", "blue", "red|blue|green"), 1.0);
  EXPECT_EQ(grade("set", "purple", "red|blue|green"), 0.0);
  EXPECT_EQ(grade("set", "0.5", "1/2|half"), 1.0);
  EXPECT_EQ(grade("set", "half", R"(["1/2", "half"])"), 1.0);
  EXPECT_EQ(grade("set", "a|b", R"(["a|b", "c"])"), 1.0);
  EXPECT_EQ(grade("set", "3", R"([3, 4.5])"), 1.0);
  EXPECT_EQ(grade("set", "4.5", R"([3, 4.5])"), 1.0);
  EXPECT_EQ(grade("set", "[bad", "[bad"), 1.0);  // not JSON: one alternative
}

TEST(Grader, AdversarialResponsesGiveZeroWithoutThrowing) {
  const std::string huge = "1" + std::string(400, '0');
  const std::string long_text(200000, 'x');
  const std::string junk("\xFF\xFE\x00\xE2\x88" "5", 6);
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "\\boxed{";
  for (const auto& name : grader_registry().names()) {
    const auto g = make_grader(name);
    for (const std::string& response :
         {std::string(), std::string("\n\n \n"), huge, std::string("1e400"), std::string("nan"), std::string("inf"),
          std::string("-inf"), long_text, junk, nested, std::string("\\boxed{\\frac{1}{0}}"),
          std::string("Answer:"), std::string("\xF0\x9F\x98\x80")}) {
      for (const std::string& reference : {std::string("5"), std::string("12")}) {
        double r = -1.0;
        EXPECT_NO_THROW(r = g->grade(response, reference)) << name;
        EXPECT_EQ(r, 0.0) << name << " response of " << response.size() << " bytes vs " << reference;
      }
    }
  }
  // numbers that do not parse never equal each other numerically
  for (const std::string& x : {huge, std::string("1e400"), std::string("nan"), std::string("inf")}) {
    EXPECT_EQ(grade("numeric", x, x), 0.0) << x;
  }
  // a long working part does not hide a correct final line
  EXPECT_EQ(grade("exact", long_text + "\n5", "5"), 1.0);
}

TEST(Grader, ExtractIsTheFormatCheck) {
  EXPECT_EQ(make_grader("numeric")->extract("w\n 12 "), "12");
  EXPECT_FALSE(make_grader("numeric")->extract("twelve").has_value());
  EXPECT_EQ(make_grader("exact")->extract("twelve"), "twelve");
  EXPECT_FALSE(make_grader("boxed")->extract("12").has_value());
  EXPECT_FALSE(make_grader("exact")->extract("").has_value());
}

TEST(Grader, RenderedAnswersAreAccepted) {
  EXPECT_EQ(make_grader("boxed")->render("12"), "\\boxed{12}");
  EXPECT_EQ(make_grader("answer_span")->render("12"), "Answer: 12");
  EXPECT_EQ(make_grader("set")->render("red|blue"), "red");
  EXPECT_EQ(make_grader("set")->render(R"(["a|b", "c"])"), "a|b");
  for (const auto& name : grader_registry().names()) {
    const auto g = make_grader(name);
    for (const std::string ref : {"12", "-3/4", "1,234", "x+1"}) {
      if (name == "numeric" && ref == "x+1") continue;
      if (name == "regex" && ref == "x+1") continue;  // '+' is a quantifier
      EXPECT_EQ(g->grade(g->render(ref), ref), 1.0) << name << " " << ref;
    }
  }
}

TEST(Grader, RegistryReadsOptionsAndRejectsBadOnes) {
  auto recipe = core::Recipe::parse("[g]\nname = \"numeric\"\nrel_tol = 0.1\n", "g.toml");
  EXPECT_EQ(make_grader("numeric", recipe, "g")->grade("105", "100"), 1.0);
  auto bad = core::Recipe::parse("[g]\ncompare = \"fuzzy\"\n", "g.toml");
  EXPECT_THROW(make_grader("boxed", bad, "g"), core::UserError);
  auto typo = core::Recipe::parse("[g]\nrel_tl = 0.1\n", "g.toml");
  EXPECT_THROW(make_grader("numeric", typo, "g"), core::UserError);
  GraderOptions on_regex;
  on_regex.compare = "numeric";
  EXPECT_THROW(make_grader("regex", on_regex), core::UserError);
  EXPECT_THROW(make_grader("nummeric"), core::UserError);
  GraderOptions boxed_from_line;
  boxed_from_line.extract = "final_line";
  EXPECT_EQ(make_grader("boxed", boxed_from_line)->grade("x\n7", "7"), 1.0);
}

}  // namespace
}  // namespace rlpp::env::text

// Generated text tasks: answers recomputed in the test from the prompt text, worked-solution lines
// re-evaluated, grading and answer extraction on hand-written responses.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/env/text/arithmetic.h"
#include "rlpp/env/text/list_ops.h"
#include "rlpp/env/text/task.h"

namespace rlpp::env::text {
namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

TEST(TextTask, FinalAnswerIsTheLastNonEmptyTrimmedLine) {
  EXPECT_EQ(final_answer("42"), "42");
  EXPECT_EQ(final_answer("1+1=2\n  42 \n\n \t\n"), "42");
  EXPECT_EQ(final_answer("a\r\nb\r\n"), "b");
  EXPECT_EQ(final_answer(""), "");
  EXPECT_EQ(final_answer("\n\n  \n"), "");
}

TEST(TextTask, ArithmeticAnswersAndWorkingAreCorrect) {
  ArithmeticOptions o;
  o.min_digits = 1;
  o.max_digits = 4;
  o.ops = "+-*";
  o.allow_negative = true;
  ArithmeticTask task(o);
  const std::regex prompt_re(R"(^(\d+)([-+*])(\d+)=$)");
  const std::regex add_re(R"(^(\d)\+(\d)\+(\d)=(\d+)$)");
  const std::regex sub_re(R"(^(\d+)-(\d)-(\d)=(\d)$)");
  const std::regex mul_re(R"(^(\d+)\*(\d+)=(\d+)$)");
  const std::regex sum_re(R"(^(\d+)\+(\d+)=(\d+)$)");
  core::Rng rng(7);
  std::set<char> seen_ops;
  const std::string alphabet = task.alphabet();
  for (int i = 0; i < 500; ++i) {
    const TaskInstance t = task.sample(rng);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(t.prompt, m, prompt_re)) << t.prompt;
    const long long a = std::stoll(m[1]), b = std::stoll(m[3]);
    const char op = m[2].str()[0];
    seen_ops.insert(op);
    EXPECT_LT(a, 10000);
    EXPECT_LT(b, 10000);
    const long long want = op == '+' ? a + b : op == '-' ? a - b : a * b;
    EXPECT_EQ(t.answer, std::to_string(want)) << t.prompt;
    EXPECT_EQ(task.grade(t, t.solution), 1.0);
    EXPECT_EQ(task.grade(t, std::to_string(want + 1)), 0.0);
    for (char c : t.prompt + t.solution) EXPECT_NE(alphabet.find(c), std::string::npos) << c;
    const auto lines = lines_of(t.solution);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back(), t.answer);
    for (size_t k = 0; k + 1 < lines.size(); ++k) {
      const std::string& l = lines[k];
      std::smatch w;
      if (op == '+') {
        ASSERT_TRUE(std::regex_match(l, w, add_re)) << l;
        EXPECT_EQ(std::stoi(w[1]) + std::stoi(w[2]) + std::stoi(w[3]), std::stoi(w[4])) << l;
      } else if (op == '-') {
        ASSERT_TRUE(std::regex_match(l, w, sub_re)) << l;
        EXPECT_EQ(std::stoi(w[1]) - std::stoi(w[2]) - std::stoi(w[3]), std::stoi(w[4])) << l;
        EXPECT_LT(std::stoi(w[1]), 20);
      } else if (std::regex_match(l, w, mul_re)) {
        EXPECT_EQ(std::stoll(w[1]) * std::stoll(w[2]), std::stoll(w[3])) << l;
      } else {
        ASSERT_TRUE(std::regex_match(l, w, sum_re)) << l;
        EXPECT_EQ(std::stoll(w[1]) + std::stoll(w[2]), std::stoll(w[3])) << l;
      }
    }
  }
  EXPECT_EQ(seen_ops, (std::set<char>{'+', '-', '*'}));
}

TEST(TextTask, ColumnAdditionHandValue) {
  // 37 + 85: 7+5+0=12 (carry 1), 3+8+1=12 (carry 1), then the answer 122 - the final carry shows
  // only in the answer.
  ArithmeticOptions o;
  o.min_digits = 2;
  o.max_digits = 2;
  ArithmeticTask task(o);
  core::Rng rng(0);
  // 90 x 90 equally likely operand pairs: 200k draws miss a given pair with probability e^-24.
  for (int i = 0; i < 200000; ++i) {
    const TaskInstance t = task.sample(rng);
    if (t.prompt != "37+85=") continue;
    EXPECT_EQ(t.solution, "7+5+0=12\n3+8+1=12\n122");
    return;
  }
  FAIL() << "37+85 was never drawn";
}

TEST(TextTask, SubtractionWithoutNegativesSwapsOperands) {
  ArithmeticOptions o;
  o.ops = "-";
  ArithmeticTask task(o);
  core::Rng rng(3);
  for (int i = 0; i < 300; ++i) EXPECT_NE(task.sample(rng).answer[0], '-');
}

TEST(TextTask, ListOpsAnswersRecomputedFromThePrompt) {
  ListOpsTask task(ListOpsOptions{});
  const std::regex re(R"(^(sort|reverse|dedupe) ([\d,]+):$)");
  core::Rng rng(11);
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) {
    const TaskInstance t = task.sample(rng);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(t.prompt, m, re)) << t.prompt;
    seen.insert(m[1]);
    std::vector<int> xs;
    for (const auto& s : lines_of(std::regex_replace(m[2].str(), std::regex(","), "\n"))) xs.push_back(std::stoi(s));
    EXPECT_GE(xs.size(), 2u);
    EXPECT_LE(xs.size(), 6u);
    std::vector<int> want = xs;
    if (m[1] == "sort") std::sort(want.begin(), want.end());
    if (m[1] == "reverse") std::reverse(want.begin(), want.end());
    if (m[1] == "dedupe") {
      want.clear();
      std::set<int> s;
      for (int x : xs) if (s.insert(x).second) want.push_back(x);
    }
    std::string w;
    for (size_t k = 0; k < want.size(); ++k) w += (k ? "," : "") + std::to_string(want[k]);
    EXPECT_EQ(t.answer, w);
    EXPECT_EQ(task.grade(t, "thinking\n" + w + "\n"), 1.0);
    for (char c : t.prompt + t.solution) EXPECT_NE(task.alphabet().find(c), std::string::npos) << c;
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(TextTask, SplitsAreFixedBySeed) {
  ArithmeticTask task(ArithmeticOptions{});
  const auto a = make_split(task, 50, 123), b = make_split(task, 50, 123), c = make_split(task, 50, 124);
  int same_c = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    same_c += a[i].prompt == c[i].prompt;
  }
  EXPECT_LT(same_c, 10);
}

TEST(TextTask, RegistryReadsOptionsAndRejectsBadOnes) {
  auto recipe = core::Recipe::parse("[task]\nname = \"arithmetic\"\nmax_digits = 2\nops = \"*\"\n", "t.toml");
  auto task = make_task("arithmetic", recipe, "task");
  core::Rng rng(1);
  EXPECT_NE(task->sample(rng).prompt.find('*'), std::string::npos);
  auto bad = core::Recipe::parse("[task]\nname = \"arithmetic\"\nops = \"/\"\n", "t.toml");
  EXPECT_THROW(make_task("arithmetic", bad, "task"), core::UserError);
  auto bad_key = core::Recipe::parse("[task]\nmax_digit = 2\n", "t.toml");
  EXPECT_THROW(make_task("arithmetic", bad_key, "task"), core::UserError);
  EXPECT_THROW(make_task("arithmetc", recipe, "task"), core::UserError);
  auto bad_list = core::Recipe::parse("[task]\nops = \"sort,shuffle\"\n", "t.toml");
  EXPECT_THROW(make_task("list_ops", bad_list, "task"), core::UserError);
}

}  // namespace
}  // namespace rlpp::env::text

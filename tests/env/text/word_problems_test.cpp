// Word problems: the answer recomputed here from the numbers in the prompt with one formula per
// template and question, every worked step re-checked, step counts and alphabet.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/env/text/word_problems.h"

namespace rlpp::env::text {
namespace {

bool has(const std::string& s, const char* w) { return s.find(w) != std::string::npos; }

// The answer from the prompt alone; also names the (template, steps) case it recognised.
long long recompute(const std::string& prompt, std::string* kind) {
  std::vector<long long> x;
  static const std::regex num_re(R"(\d+)");
  for (auto it = std::sregex_iterator(prompt.begin(), prompt.end(), num_re); it != std::sregex_iterator(); ++it) {
    x.push_back(std::stoll(it->str()));
  }
  const size_t n = x.size();
  if (has(prompt, "buys") && has(prompt, "dollars each")) {
    *kind = "shopping" + std::to_string(n - 1);
    if (n == 3) return x[2] - x[0] * x[1];
    if (n == 4) return x[0] * x[1] + x[2] * x[3];
    return x[4] - (x[0] * x[1] + x[2] * x[3]);
  }
  if (has(prompt, "years old")) {
    if (!has(prompt, "years older")) {
      *kind = "ages2";
      return x[0] * x[1] + x[2];
    }
    if (has(prompt, "sum of the ages")) {
      *kind = "ages4";
      return x[0] + (x[0] + x[1]) + (x[0] + x[1]) * x[2];
    }
    *kind = "ages3";
    return (x[0] + x[1]) * x[2] + x[3];
  }
  if (has(prompt, "machine")) {
    *kind = "rates2";
    return x[0] * x[1] * x[2];
  }
  if (has(prompt, "km per hour")) {
    *kind = "rates" + std::to_string(n - 1);
    if (n == 4) return x[0] * x[1] + x[2] * x[3];
    return x[4] - (x[0] * x[1] + x[2] * x[3]);
  }
  if (has(prompt, "bags")) {
    *kind = "sharing2";
    EXPECT_EQ(x[0] * x[1] % x[2], 0) << prompt;
    return x[0] * x[1] / x[2];
  }
  EXPECT_TRUE(has(prompt, "shares the rest")) << prompt;
  EXPECT_EQ((x[0] + x[1] - x[2]) % x[3], 0) << prompt;
  *kind = "sharing" + std::to_string(n - 1);
  const long long each = (x[0] + x[1] - x[2]) / x[3];
  return n == 4 ? each : each * x[4];
}

TEST(TextWordProblems, AnswersRecomputedFromThePrompt) {
  WordProblemsTask task(WordProblemsOptions{});
  core::Rng rng(4);
  const std::string alphabet = task.alphabet();
  const std::regex step_re(R"(^(\d+)([-+*/])(\d+)=(\d+)$)");
  std::map<std::string, int> kinds;
  for (int i = 0; i < 600; ++i) {
    const TaskInstance t = task.sample(rng);
    std::string kind;
    const long long want = recompute(t.prompt, &kind);
    ++kinds[kind];
    EXPECT_EQ(t.answer, std::to_string(want)) << t.prompt;
    EXPECT_GE(want, 0) << t.prompt;
    EXPECT_EQ(task.grade(t, t.solution), 1.0);
    EXPECT_EQ(task.grade(t, t.solution + "\n" + std::to_string(want + 1)), 0.0);
    EXPECT_TRUE(task.answer_parses(t, t.solution));
    std::stringstream ss(t.solution);
    std::vector<std::string> lines;
    for (std::string l; std::getline(ss, l);) lines.push_back(l);
    EXPECT_EQ(lines.back(), t.answer);
    // the steps named in the kind, each a true equation, the last giving the answer
    EXPECT_EQ(std::to_string(lines.size() - 1), kind.substr(kind.size() - 1)) << t.solution;
    for (size_t k = 0; k + 1 < lines.size(); ++k) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(lines[k], m, step_re)) << lines[k];
      const long long a = std::stoll(m[1]), b = std::stoll(m[3]), r = std::stoll(m[4]);
      const char op = m[2].str()[0];
      if (op == '/') {
        EXPECT_EQ(a % b, 0);
      }
      EXPECT_EQ(r, op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b) << lines[k];
    }
    EXPECT_EQ(lines[lines.size() - 2].substr(lines[lines.size() - 2].find('=') + 1), t.answer);
    for (char c : t.prompt + t.solution) EXPECT_NE(alphabet.find(c), std::string::npos) << "'" << c << "' in " << t.prompt;
  }
  for (const char* k : {"shopping2", "shopping3", "shopping4", "ages2", "ages3", "ages4", "rates2", "rates3", "rates4",
                        "sharing2", "sharing3", "sharing4"}) {
    EXPECT_GT(kinds[k], 10) << k;
  }
}

TEST(TextWordProblems, OptionsAndDeterminism) {
  WordProblemsOptions o;
  o.templates = "sharing";
  o.min_steps = o.max_steps = 3;
  o.max_value = 50;
  WordProblemsTask task(o);
  const auto a = make_split(task, 50, 8), b = make_split(task, 50, 8), c = make_split(task, 50, 9);
  int same_c = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    EXPECT_EQ(a[i].solution, b[i].solution);
    same_c += a[i].prompt == c[i].prompt;
    EXPECT_TRUE(has(a[i].prompt, "shares the rest")) << a[i].prompt;
    EXPECT_EQ(std::count(a[i].solution.begin(), a[i].solution.end(), '\n'), 3);
  }
  EXPECT_LT(same_c, 3);
  auto bad = core::Recipe::parse("[task]\ntemplates = \"shopping,poetry\"\n", "t.toml");
  EXPECT_THROW(make_task("word_problems", bad, "task"), core::UserError);
  auto steps = core::Recipe::parse("[task]\nmax_steps = 5\n", "t.toml");
  EXPECT_THROW(make_task("word_problems", steps, "task"), core::UserError);
  EXPECT_FALSE(task.answer_parses(a[0], "12 apples"));
}

}  // namespace
}  // namespace rlpp::env::text

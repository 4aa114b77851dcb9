// Modular arithmetic: the prompt's expression re-evaluated by a small evaluator written here, every
// worked line re-checked, the residue recomputed with floor semantics.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/env/text/modular.h"

namespace rlpp::env::text {
namespace {

// Evaluates + - * and parentheses with the usual precedence modulo `mod` (operands are non-negative
// integers), reducing after every operation so that large operands cannot overflow.
struct Eval {
  const std::string& s;
  long long mod;
  size_t i = 0;
  long long red(__int128 x) const { return static_cast<long long>(((x % mod) + mod) % mod); }
  long long expr() {
    long long v = term();
    while (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      const char op = s[i++];
      const long long r = term();
      v = red(op == '+' ? static_cast<__int128>(v) + r : static_cast<__int128>(v) - r);
    }
    return v;
  }
  long long term() {
    long long v = atom();
    while (i < s.size() && s[i] == '*') {
      ++i;
      v = red(static_cast<__int128>(v) * atom());
    }
    return v;
  }
  long long atom() {
    if (s[i] == '(') {
      ++i;
      const long long v = expr();
      EXPECT_EQ(s[i], ')');
      ++i;
      return v;
    }
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    const long long v = std::stoll(s.substr(i, j - i));
    i = j;
    return red(v);
  }
};

void check_task(const ModularOptions& o, uint64_t seed, int n) {
  ModularTask task(o);
  core::Rng rng(seed);
  const std::regex prompt_re(R"(^\((.+)\) mod (\d+)=$)");
  const std::regex op_re(R"(^(-?\d+)([-+*])(\d+)=(-?\d+)$)");
  const std::regex red_re(R"(^(-?\d+)=(-?\d+)\*(\d+)\+(\d+)$)");
  const std::string alphabet = task.alphabet();
  for (int k = 0; k < n; ++k) {
    const TaskInstance t = task.sample(rng);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(t.prompt, m, prompt_re)) << t.prompt;
    const std::string e = m[1];
    const long long mod = std::stoll(m[2]);
    EXPECT_GE(mod, o.min_modulus);
    EXPECT_LE(mod, o.max_modulus);
    Eval ev{e, mod};
    const long long want = ev.expr();
    EXPECT_EQ(ev.i, e.size()) << e;
    EXPECT_EQ(t.answer, std::to_string(want)) << t.prompt;
    EXPECT_EQ(task.grade(t, t.solution), 1.0);
    EXPECT_TRUE(task.answer_parses(t, t.solution));
    EXPECT_EQ(task.grade(t, t.solution + "\n" + std::to_string(want + mod)), 0.0);  // congruent is not reduced
    std::stringstream ss(t.solution);
    std::vector<std::string> lines;
    for (std::string l; std::getline(ss, l);) lines.push_back(l);
    EXPECT_EQ(lines.back(), t.answer);
    int reductions = 0;
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      std::smatch w;
      if (std::regex_match(lines[i], w, op_re)) {
        const long long a = std::stoll(w[1]), b = std::stoll(w[3]), r = std::stoll(w[4]);
        const char op = w[2].str()[0];
        EXPECT_EQ(r, op == '+' ? a + b : op == '-' ? a - b : a * b) << lines[i];
      } else {
        ASSERT_TRUE(std::regex_match(lines[i], w, red_re)) << lines[i];
        const long long x = std::stoll(w[1]), q = std::stoll(w[2]), mm = std::stoll(w[3]), r = std::stoll(w[4]);
        EXPECT_EQ(mm, mod);
        EXPECT_EQ(q * mm + r, x) << lines[i];
        EXPECT_GE(r, 0);
        EXPECT_LT(r, mod);
        ++reductions;
      }
    }
    if (!o.reduce_steps) {
      EXPECT_EQ(reductions, 1);
    }
    for (char c : t.prompt + t.solution) EXPECT_NE(alphabet.find(c), std::string::npos) << c;
  }
}

TEST(TextModular, AnswersAndWorkingAreCorrect) {
  ModularOptions o;
  o.ops = "+-*";
  o.max_operands = 4;
  check_task(o, 1, 300);
}

TEST(TextModular, ReducedStepsAndLargeOperands) {
  ModularOptions o;
  o.ops = "+-*";
  o.min_operands = 4;
  o.max_operands = 6;
  o.max_operand = 999999;
  o.min_modulus = 1000;
  o.max_modulus = 999999;
  o.reduce_steps = true;
  check_task(o, 2, 200);
}

TEST(TextModular, HandValueAndOptions) {
  // (37*54+12) mod 97: 37*54 = 1998, 1998+12 = 2010 = 20*97 + 70
  ModularTask task(ModularOptions{});
  const TaskInstance t{"(37*54+12) mod 97=", "70", ""};
  EXPECT_EQ(task.grade(t, "37*54=1998\n1998+12=2010\n2010=20*97+70\n70"), 1.0);
  EXPECT_EQ(task.grade(t, "167"), 0.0);
  EXPECT_FALSE(task.answer_parses(t, "seventy"));
  auto big = core::Recipe::parse("[task]\nmax_operand = 999999\nmax_operands = 6\n", "t.toml");
  EXPECT_THROW(make_task("modular", big, "task"), core::UserError);
  auto big_reduced = core::Recipe::parse("[task]\nmax_operand = 999999\nmax_operands = 6\nreduce_steps = true\n", "t.toml");
  EXPECT_NO_THROW(make_task("modular", big_reduced, "task"));
  auto bad = core::Recipe::parse("[task]\nmin_modulus = 50\nmax_modulus = 10\n", "t.toml");
  EXPECT_THROW(make_task("modular", bad, "task"), core::UserError);
  const auto a = make_split(task, 20, 9), b = make_split(task, 20, 9);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].solution, b[i].solution);
}

}  // namespace
}  // namespace rlpp::env::text

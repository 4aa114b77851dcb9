// Countdown: instances re-checked by a brute-force solver written here, answers re-evaluated by an
// independent evaluator (shunting-yard over rationals in long double), adversarial answers, and
// grader agreement with the reference evaluator on random and mutated expressions.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/env/text/countdown.h"

namespace rlpp::env::text {
namespace {

struct Problem {
  long long target;
  std::vector<long long> numbers;
};

Problem parse(const std::string& prompt) {
  static const std::regex re(R"(^reach (\d+) with ([\d,]+):$)");
  std::smatch m;
  EXPECT_TRUE(std::regex_match(prompt, m, re)) << prompt;
  Problem p{std::stoll(m[1]), {}};
  std::stringstream ss(m[2].str());
  for (std::string x; std::getline(ss, x, ',');) p.numbers.push_back(std::stoll(x));
  return p;
}

// Every value reachable from `xs` (each used at most once, any subset of >= 1) with + - * and exact
// division: the classic recursive pairwise combination.
void reachable(std::vector<long long> xs, std::set<long long>* out) {
  for (long long x : xs) out->insert(x);
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = 0; j < xs.size(); ++j) {
      if (i == j) continue;
      const long long a = xs[i], b = xs[j];
      std::vector<long long> results = {a + b, a - b, a * b};
      if (b != 0 && a % b == 0) results.push_back(a / b);
      std::vector<long long> rest;
      for (size_t k = 0; k < xs.size(); ++k) {
        if (k != i && k != j) rest.push_back(xs[k]);
      }
      for (long long r : results) {
        auto next = rest;
        next.push_back(r);
        reachable(next, out);
      }
    }
  }
}

// Reference evaluator: tokenizes, checks the number multiset, converts to RPN by shunting-yard and
// evaluates in long double, requiring every division to be exact. nullopt when invalid.
std::optional<long long> reference_eval(const std::string& s, std::vector<long long> numbers) {
  std::vector<std::string> out;
  std::vector<char> ops;
  const std::map<char, int> prec = {{'+', 1}, {'-', 1}, {'*', 2}, {'/', 2}};
  bool expect_operand = true;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ' ') { ++i; continue; }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (!expect_operand) return std::nullopt;
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      const std::string tok = s.substr(i, j - i);
      if (tok.size() > 1 && tok[0] == '0') return std::nullopt;
      if (tok.size() > 15) return std::nullopt;
      const long long v = std::stoll(tok);
      auto it = std::find(numbers.begin(), numbers.end(), v);
      if (it == numbers.end()) return std::nullopt;
      numbers.erase(it);
      out.push_back(tok);
      expect_operand = false;
      i = j;
    } else if (c == '(') {
      if (!expect_operand) return std::nullopt;
      ops.push_back(c);
      ++i;
    } else if (c == ')') {
      if (expect_operand) return std::nullopt;
      while (!ops.empty() && ops.back() != '(') { out.push_back(std::string(1, ops.back())); ops.pop_back(); }
      if (ops.empty()) return std::nullopt;
      ops.pop_back();
      ++i;
    } else if (prec.count(c)) {
      if (expect_operand) return std::nullopt;
      while (!ops.empty() && ops.back() != '(' && prec.at(ops.back()) >= prec.at(c)) {
        out.push_back(std::string(1, ops.back()));
        ops.pop_back();
      }
      ops.push_back(c);
      expect_operand = true;
      ++i;
    } else {
      return std::nullopt;
    }
  }
  if (expect_operand) return std::nullopt;
  while (!ops.empty()) {
    if (ops.back() == '(') return std::nullopt;
    out.push_back(std::string(1, ops.back()));
    ops.pop_back();
  }
  std::vector<long double> st;
  for (const auto& t : out) {
    if (std::isdigit(static_cast<unsigned char>(t[0]))) { st.push_back(std::stold(t)); continue; }
    const long double b = st.back(); st.pop_back();
    const long double a = st.back(); st.pop_back();
    long double r = 0;
    switch (t[0]) {
      case '+': r = a + b; break;
      case '-': r = a - b; break;
      case '*': r = a * b; break;
      default:
        if (b == 0 || std::fmod(a, b) != 0) return std::nullopt;
        r = a / b;
    }
    if (std::fabs(r) > 1e12L) return std::nullopt;
    st.push_back(r);
  }
  return static_cast<long long>(st.back());
}

TEST(Countdown, InstancesAreSolvableAndSolutionsCorrect) {
  CountdownOptions o;
  o.min_numbers = 2;
  o.max_numbers = 4;
  o.max_number = 20;
  o.max_target = 300;
  CountdownTask task(o);
  core::Rng rng(3);
  const std::string alphabet = task.alphabet();
  const std::regex step_re(R"(^(\d+)([-+*/])(\d+)=(\d+)$)");
  for (int i = 0; i < 200; ++i) {
    const TaskInstance t = task.sample(rng);
    const Problem p = parse(t.prompt);
    ASSERT_GE(p.numbers.size(), 2u);
    ASSERT_LE(p.numbers.size(), 4u);
    for (long long x : p.numbers) {
      EXPECT_GE(x, 1);
      EXPECT_LE(x, 20);
    }
    EXPECT_GE(p.target, 1);
    EXPECT_LE(p.target, 300);
    std::set<long long> reach;
    reachable(std::vector<long long>(p.numbers.begin(), p.numbers.end()), &reach);
    EXPECT_TRUE(reach.count(p.target)) << t.prompt;
    EXPECT_EQ(reference_eval(t.answer, p.numbers), p.target) << t.prompt << " " << t.answer;
    EXPECT_EQ(task.grade(t, t.solution), 1.0) << t.solution;
    EXPECT_TRUE(task.answer_parses(t, t.solution));
    // perturbed: the target plus one is not what the canonical expression gives
    EXPECT_EQ(task.grade(t, t.answer + "+1"), 0.0);
    // every working line is a true positive-integer step
    std::stringstream ss(t.solution);
    std::vector<std::string> lines;
    for (std::string l; std::getline(ss, l);) lines.push_back(l);
    EXPECT_EQ(lines.back(), t.answer);
    for (size_t k = 0; k + 1 < lines.size(); ++k) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(lines[k], m, step_re)) << lines[k];
      const long long a = std::stoll(m[1]), b = std::stoll(m[3]), r = std::stoll(m[4]);
      const char op = m[2].str()[0];
      const long long want = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
      if (op == '/') {
        EXPECT_EQ(a % b, 0) << lines[k];
      }
      EXPECT_EQ(r, want) << lines[k];
      EXPECT_GT(r, 0);
    }
    if (lines.size() > 1) {
      const std::string& last_step = lines[lines.size() - 2];
      EXPECT_EQ(std::stoll(last_step.substr(last_step.find('=') + 1)), p.target);
    }
    for (char c : t.prompt + t.solution) EXPECT_NE(alphabet.find(c), std::string::npos) << c;
  }
}

TEST(Countdown, HandGradedAnswers) {
  CountdownTask task(CountdownOptions{});
  const TaskInstance t{"reach 97 with 25,4,3,7:", "(25*4)-3", ""};
  EXPECT_EQ(task.grade(t, "(25*4)-3"), 1.0);
  EXPECT_EQ(task.grade(t, "25*4=100\n100-3=97\n 25 * 4 - 3 "), 1.0);
  EXPECT_EQ(task.grade(t, "4*25-3"), 1.0);
  EXPECT_EQ(task.grade(t, "(7+3)*4*25/25"), 0.0);   // 25 given once
  EXPECT_EQ(task.grade(t, "100-3"), 0.0);           // 100 not given
  EXPECT_EQ(task.grade(t, "25*4-3\n"), 1.0);
  EXPECT_EQ(task.grade(t, "25*4-3=97"), 0.0);       // the answer is an expression, nothing more
  EXPECT_EQ(task.grade(t, "(25*4)-7"), 0.0);        // 93
  EXPECT_EQ(task.grade(t, "25*(7-3)-3"), 0.0);      // 97, but 3 used twice
  const TaskInstance d{"reach 2 with 7,2,4:", "", ""};
  EXPECT_EQ(task.grade(d, "4/2"), 1.0);
  EXPECT_EQ(task.grade(d, "7/2*4/7"), 0.0);         // 7/2 inexact
  EXPECT_EQ(task.grade(d, "4/(7-7)"), 0.0);
  EXPECT_EQ(task.grade(d, "2-4+4"), 0.0);           // 4 used twice
  EXPECT_EQ(task.grade(d, "(4-7)*(2-4)"), 0.0);
  const TaskInstance dup{"reach 8 with 4,4,1:", "", ""};
  EXPECT_EQ(task.grade(dup, "4+4"), 1.0);           // a number given twice may be used twice
  EXPECT_EQ(task.grade(dup, "4+4+4-4"), 0.0);
  const TaskInstance neg{"reach 6 with 2,5,3:", "", ""};
  EXPECT_EQ(task.grade(neg, "(2-5)*(0-2)"), 0.0);   // 0 not given
  EXPECT_EQ(task.grade(neg, "3*(5-2-3+2)"), 0.0);   // 2 used twice
  EXPECT_EQ(task.grade(neg, "(2-5+3)+2*3"), 0.0);   // 3 used twice
  EXPECT_EQ(task.grade(neg, "(2-5)+3*3"), 0.0);
  EXPECT_EQ(task.grade(neg, "3-(2-5)"), 1.0);       // negative intermediate is allowed
}

TEST(Countdown, AdversarialAnswersGiveZero) {
  CountdownTask task(CountdownOptions{});
  const TaskInstance t{"reach 10 with 5,2,1000000,999999:", "", ""};
  std::string deep, long_sum;
  for (int i = 0; i < 100000; ++i) deep += '(';
  deep += "5*2";
  for (int i = 0; i < 100000; ++i) deep += ')';
  for (int i = 0; i < 1000; ++i) long_sum += "5+";
  long_sum += "5";
  for (const std::string& bad :
       {std::string(""), std::string("\n\n"), std::string("5*"), std::string("*5"), std::string("(5*2"),
        std::string("5*2)"), std::string("()"), std::string("-5*-2"), std::string("+5*2"), std::string("5**2"),
        std::string("5*2.0"), std::string("05*2"), std::string("5 2"), std::string("5x2"), std::string("5\xC3\x97" "2"),
        std::string("\xEF\xBC\x95*2"), std::string("5*2\xE2\x80\x8B"), std::string("1000000*1000000*1000000"),
        std::string("99999999999999999999999"), std::string("5/0"), std::string("2/(5-5)"), deep, long_sum,
        std::string("nan"), std::string("1e1"), std::string("10"), std::string("(((5)))*2)"),
        std::string("5*2\x00", 4)}) {
    double r = -1;
    EXPECT_NO_THROW(r = task.grade(t, bad)) << bad.substr(0, 40);
    EXPECT_EQ(r, 0.0) << bad.substr(0, 40);
  }
  EXPECT_EQ(task.grade(t, "(((5)))*2"), 1.0);
  EXPECT_EQ(task.grade(t, "1000000-999999+5+2+2"), 0.0);  // 2 twice
  EXPECT_EQ(task.grade(t, "(1000000-999999)*5*2"), 1.0);
  EXPECT_FALSE(task.answer_parses(t, "5*"));
  EXPECT_TRUE(task.answer_parses(t, "7*8"));
  EXPECT_EQ(task.grade(TaskInstance{"garbage", "", ""}, "5*2"), 0.0);
}

// The grader agrees with the reference evaluator on random expression strings built from the
// prompt's numbers, other numbers and random operators and parentheses.
TEST(Countdown, GraderAgreesWithReferenceOnRandomExpressions) {
  const std::vector<long long> numbers = {3, 7, 7, 12, 50};
  const std::vector<int64_t> numbers64(numbers.begin(), numbers.end());
  core::Rng rng(11);
  const std::vector<std::string> atoms = {"3", "7", "12", "50", "2", "0", "100"};
  const std::string ops = "+-*/";
  int valid = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string e;
    int open = 0;
    const int n = 1 + static_cast<int>(rng.below(6));
    for (int k = 0; k < n; ++k) {
      while (rng.uniform() < 0.3) { e += '('; ++open; }
      e += atoms[rng.below(atoms.size())];
      while (open > 0 && rng.uniform() < 0.4) { e += ')'; --open; }
      if (k + 1 < n) e += ops[rng.below(ops.size())];
    }
    if (rng.uniform() < 0.8) e.append(static_cast<size_t>(open), ')');
    const auto want = reference_eval(e, numbers);
    const auto got = evaluate_countdown(e, numbers64);
    ASSERT_EQ(got.has_value(), want.has_value()) << e;
    if (want) {
      EXPECT_EQ(*got, *want) << e;
      ++valid;
    }
  }
  EXPECT_GT(valid, 300);
}

TEST(Countdown, DeterministicBySeedAndOptionsApply) {
  CountdownOptions o;
  o.use_all = true;
  o.min_numbers = o.max_numbers = 4;
  o.ops = "+*";
  CountdownTask task(o);
  const auto a = make_split(task, 30, 5), b = make_split(task, 30, 5), c = make_split(task, 30, 6);
  int same_c = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    EXPECT_EQ(a[i].solution, b[i].solution);
    same_c += a[i].prompt == c[i].prompt;
    // use_all: the canonical answer uses all four numbers, with only + and *
    EXPECT_EQ(std::count_if(a[i].solution.begin(), a[i].solution.end(), [](char ch) { return ch == '\n'; }), 3);
    EXPECT_EQ(a[i].answer.find_first_of("-/"), std::string::npos);
  }
  EXPECT_LT(same_c, 5);
  auto recipe = core::Recipe::parse("[task]\nmax_numbers = 1\n", "t.toml");
  EXPECT_THROW(make_task("countdown", recipe, "task"), core::UserError);
  auto only_minus = core::Recipe::parse("[task]\nops = \"-\"\n", "t.toml");
  EXPECT_THROW(make_task("countdown", only_minus, "task"), core::UserError);
  auto good = core::Recipe::parse("[task]\nmax_number = 10\nmax_target = 50\n", "t.toml");
  EXPECT_NO_THROW(make_task("countdown", good, "task"));
}

}  // namespace
}  // namespace rlpp::env::text

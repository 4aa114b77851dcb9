// Countdown: reach a target with given numbers, each used at most once, and + - * /.
//
//   prompt    "reach 97 with 25,4,3,7:"
//   solution  one operation per line, then the expression:   25*4=100
//                                                             100-3=97
//                                                             (25*4)-3
//   answer    the final line is an arithmetic expression over some of the given numbers that
//             evaluates to the target. Grammar (spaces allowed between tokens):
//               expr := term (('+' | '-') term)*     term := factor (('*' | '/') factor)*
//               factor := number | '(' expr ')'      number := digits without a leading zero
//             Integer arithmetic: a division must be exact (7/2 is invalid), intermediate values may
//             be negative, |value| <= 10^12. Each given number is used at most as many times as it is
//             given; no other number may appear. Anything else (unary minus, other characters,
//             nesting deeper than 32, more than 256 characters) is malformed and gets 0.
//
// Instances are solvable by construction: the target is the value of a random expression over a
// random subset of the numbers whose every step stays a positive integer.
#pragma once
#include <optional>

#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

struct CountdownOptions {
  int64_t min_numbers = 3;   // how many numbers the prompt gives
  int64_t max_numbers = 4;
  int64_t max_number = 25;   // numbers are drawn from [1, max_number]
  int64_t max_target = 200;  // targets lie in [1, max_target]
  bool use_all = false;      // the construction uses every number (else a random subset of >= 2)
  std::string ops = "+-*/";  // operators the construction may use

  void bind(core::Binder& b);
};

// The value of a countdown expression when it is well-formed and uses only `numbers` (as a
// multiset); nullopt otherwise (malformed, inexact or zero division, overflow, unlisted number).
std::optional<int64_t> evaluate_countdown(std::string_view expression, const std::vector<int64_t>& numbers);

class CountdownTask : public TextTask {
 public:
  explicit CountdownTask(const CountdownOptions& opts);
  TaskInstance sample(core::Rng& rng) const override;
  // 1 when the final line evaluates (evaluate_countdown) to the target with the prompt's numbers.
  double grade(const TaskInstance& inst, std::string_view response) const override;
  bool answer_parses(const TaskInstance& inst, std::string_view response) const override;
  std::string alphabet() const override;

 private:
  CountdownOptions opts_;
};

}  // namespace rlpp::env::text

// Multi-digit arithmetic: "a op b=" with operands of 1..max_digits digits and op drawn from
// `ops` (+, -, *). The worked solution writes the column computation right to left (one line per
// digit with its carry or borrow) for + and -, the partial products for *, then the answer.
#pragma once
#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

struct ArithmeticOptions {
  int64_t min_digits = 1;
  int64_t max_digits = 3;
  std::string ops = "+";           // any of "+-*"
  bool allow_negative = false;     // '-' with a < b gives a negative answer; else operands are swapped

  void bind(core::Binder& b);
};

class ArithmeticTask : public TextTask {
 public:
  explicit ArithmeticTask(const ArithmeticOptions& opts);
  TaskInstance sample(core::Rng& rng) const override;
  bool answer_parses(const TaskInstance& inst, std::string_view response) const override;
  std::string alphabet() const override;

 private:
  ArithmeticOptions opts_;
};

}  // namespace rlpp::env::text

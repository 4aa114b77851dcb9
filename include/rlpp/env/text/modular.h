// Modular arithmetic: "((37+54)*12) mod 97=" -> "25". Operands are combined left to right (the
// prompt adds the parentheses that order needs); the result is the least non-negative residue.
//
// Worked solution: one line per operation, then the division by the modulus written as
// "value=quotient*m+residue" (floor division, so a negative value has a negative quotient), then
// the residue:
//   37+54=91
//   91*12=1092
//   1092=11*97+25
//   25
// With reduce_steps, every intermediate value is reduced at once ("91*12=1092", "1092=11*97+25",
// then the next operation uses 25), the way modular arithmetic is done by hand with big operands.
#pragma once
#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

struct ModularOptions {
  int64_t min_operands = 2;
  int64_t max_operands = 3;
  int64_t max_operand = 99;    // operands are drawn from [0, max_operand]
  int64_t min_modulus = 2;
  int64_t max_modulus = 97;
  std::string ops = "+*";      // any of "+-*"
  bool reduce_steps = false;   // reduce after every operation in the worked solution

  void bind(core::Binder& b);
};

class ModularTask : public TextTask {
 public:
  explicit ModularTask(const ModularOptions& opts);
  TaskInstance sample(core::Rng& rng) const override;
  bool answer_parses(const TaskInstance& inst, std::string_view response) const override;
  std::string alphabet() const override;

 private:
  ModularOptions opts_;
};

}  // namespace rlpp::env::text

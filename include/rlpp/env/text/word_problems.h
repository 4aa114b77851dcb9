// Templated multi-step word problems with small whole numbers: shopping totals and change, ages,
// rates (work and distance) and fair sharing. Each problem takes 2 to 4 arithmetic steps; the
// worked solution writes one step per line ("3*4=12") and the answer, a whole number, on the last
// line. Divisions are exact by construction.
//
//   "Ann buys 3 pens at 4 dollars each and pays with 20 dollars. How much change does Ann get?"
//   3*4=12
//   20-12=8
//   8
#pragma once
#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

struct WordProblemsOptions {
  std::string templates = "shopping,ages,rates,sharing";  // comma-separated subset
  int64_t min_steps = 2;
  int64_t max_steps = 4;
  int64_t max_value = 10;  // base quantities (counts, prices, speeds, ages) are drawn from [2, max_value]

  void bind(core::Binder& b);
};

class WordProblemsTask : public TextTask {
 public:
  explicit WordProblemsTask(const WordProblemsOptions& opts);
  TaskInstance sample(core::Rng& rng) const override;
  bool answer_parses(const TaskInstance& inst, std::string_view response) const override;
  std::string alphabet() const override;

 private:
  WordProblemsOptions opts_;
  std::vector<std::string> templates_;
};

}  // namespace rlpp::env::text

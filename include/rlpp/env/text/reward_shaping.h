// Reward shaping for text tasks: the task's correctness reward plus a format term and DAPO's soft
// overlong punishment (Yu et al. 2025, arXiv:2503.14476, eq. 13):
//
//   total = correct_weight * correct + format_weight * format + overlong_weight * overlong
//
//   correct   task.grade(inst, response), in [0, 1]
//   format    1 when the final answer is well-formed (format_regex empty: task.answer_parses;
//             else the final line fully matches format_regex), else 0
//   overlong  R(L) for a response of L tokens, with L_max = overlong_max_length and
//             L_cache = overlong_cache_length:
//               R(L) = 0                                  L <= L_max - L_cache
//               R(L) = ((L_max - L_cache) - L) / L_cache   L_max - L_cache < L <= L_max
//               R(L) = -1                                  L > L_max
//
// The format and overlong terms are off by default (weights 0); DAPO uses overlong_weight = 1 with
// L_max = 20480 and L_cache = 4096, its defaults here.
#pragma once
#include <memory>
#include <regex>

#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

struct RewardShapingOptions {
  double correct_weight = 1.0;
  double format_weight = 0.0;
  std::string format_regex;              // "" = the task's own answer_parses
  double overlong_weight = 0.0;
  int64_t overlong_max_length = 20480;   // L_max, tokens
  int64_t overlong_cache_length = 4096;  // L_cache, tokens: the punishment ramps over the last L_cache

  void bind(core::Binder& b);
};

// DAPO's soft overlong punishment R(L) above, in [-1, 0].
double overlong_penalty(int64_t length, int64_t max_length, int64_t cache_length);

struct ShapedReward {
  double total = 0.0;
  double correct = 0.0;   // unweighted terms, for metrics
  double format = 0.0;
  double overlong = 0.0;
};

class RewardShaper {
 public:
  // UserError for an invalid format_regex or cache_length outside [1, max_length].
  explicit RewardShaper(const RewardShapingOptions& opts);
  // `length`: the response's length in tokens (the unit of overlong_max_length).
  ShapedReward score(const TextTask& task, const TaskInstance& inst, std::string_view response, int64_t length) const;
  // The format term alone.
  double format_reward(const TextTask& task, const TaskInstance& inst, std::string_view response) const;

 private:
  RewardShapingOptions opts_;
  std::unique_ptr<std::regex> format_re_;
};

}  // namespace rlpp::env::text

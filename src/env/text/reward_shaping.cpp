#include "rlpp/env/text/reward_shaping.h"

#include "rlpp/core/error.h"

namespace rlpp::env::text {

void RewardShapingOptions::bind(core::Binder& b) {
  b.num("correct_weight", correct_weight, "weight of the task's correctness reward", core::Bounds::non_negative());
  b.num("format_weight", format_weight, "weight of the well-formed final answer reward", core::Bounds::any());
  b.text("format_regex", format_regex, "regex the final line must match for the format reward (\"\": the task's check)");
  b.num("overlong_weight", overlong_weight, "weight of DAPO's soft overlong punishment", core::Bounds::non_negative());
  b.integer("overlong_max_length", overlong_max_length, "L_max: longer responses get -1", core::Bounds::at_least(1));
  b.integer("overlong_cache_length", overlong_cache_length, "L_cache: the punishment ramps over the last L_cache tokens",
            core::Bounds::at_least(1));
}

double overlong_penalty(int64_t length, int64_t max_length, int64_t cache_length) {
  const int64_t free_length = max_length - cache_length;
  if (length <= free_length) return 0.0;
  if (length > max_length) return -1.0;
  return static_cast<double>(free_length - length) / static_cast<double>(cache_length);
}

RewardShaper::RewardShaper(const RewardShapingOptions& opts) : opts_(opts) {
  core::require(opts.overlong_cache_length >= 1 && opts.overlong_cache_length <= opts.overlong_max_length,
                "reward shaping: overlong_cache_length = " + std::to_string(opts.overlong_cache_length) +
                    " must lie in [1, overlong_max_length = " + std::to_string(opts.overlong_max_length) + "]");
  if (!opts.format_regex.empty()) {
    try {
      format_re_ = std::make_unique<std::regex>(opts.format_regex);
    } catch (const std::regex_error& e) {
      throw core::UserError("reward shaping: format_regex '" + opts.format_regex + "' is not a valid regex: " + e.what());
    }
  }
}

double RewardShaper::format_reward(const TextTask& task, const TaskInstance& inst, std::string_view response) const {
  if (!format_re_) return task.answer_parses(inst, response) ? 1.0 : 0.0;
  const std::string line = final_answer(response);
  // the same length cap as the graders: std::regex recurses once per character
  if (line.empty() || line.size() > 1000) return 0.0;
  try {
    return std::regex_match(line, *format_re_) ? 1.0 : 0.0;
  } catch (const std::exception&) {
    return 0.0;
  }
}

ShapedReward RewardShaper::score(const TextTask& task, const TaskInstance& inst, std::string_view response,
                                 int64_t length) const {
  ShapedReward r;
  r.correct = task.grade(inst, response);
  r.format = format_reward(task, inst, response);
  r.overlong = overlong_penalty(length, opts_.overlong_max_length, opts_.overlong_cache_length);
  r.total = opts_.correct_weight * r.correct + opts_.format_weight * r.format + opts_.overlong_weight * r.overlong;
  return r;
}

}  // namespace rlpp::env::text

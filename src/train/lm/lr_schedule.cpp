#include "rlpp/train/lm/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace rlpp::train::lm {

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const int64_t span = total_steps - warmup_steps;
  const double progress = span > 0 ? std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(span)) : 1.0;
  return lr * (min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

}  // namespace rlpp::train::lm

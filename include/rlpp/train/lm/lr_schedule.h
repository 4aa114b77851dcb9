// Learning-rate schedule of LM training: linear warm-up from 0 over `warmup_steps`, then cosine
// decay to min_lr_ratio·lr at `total_steps` (GPT-3 / Chinchilla style):
//   step < W:  lr·(step + 1)/W
//   else:      lr·(m + (1 − m)·½(1 + cos(π·min(1, (step − W)/(S − W)))))
#pragma once
#include <cstdint>

namespace rlpp::train::lm {

struct LrSchedule {
  double lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.1;

  // Learning rate of optimizer step `step` (0-based).
  double at(int64_t step) const;
};

}  // namespace rlpp::train::lm

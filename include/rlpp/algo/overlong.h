// DAPO overlong handling (arXiv 2503.14476, §3.4).
//
// Soft overlong punishment, added to the sequence reward:
//   R_length(|y|) = 0                                   if |y| ≤ L_max − L_cache
//                 = −factor·(|y| − (L_max − L_cache))/L_cache   in the cache window
//                 = −factor                             if |y| ≥ L_max
// i.e. −factor·clip((|y| − (L_max − L_cache))/L_cache, 0, 1). Defaults: the paper's L_max = 20480,
// L_cache = 4096 (expected length 16384), factor 1.
//
// Overlong filtering: the loss of truncated responses is masked (their reward says nothing about
// the answer they never finished).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

struct OverlongOptions {
  int64_t max_length = 20480;   // L_max
  int64_t cache_length = 4096;  // L_cache, <= L_max
  double factor = 1.0;          // penalty at and beyond L_max

  void bind(core::Binder& b) {
    b.integer("max_length", max_length, "L_max: maximum response length", core::Bounds::at_least(1));
    b.integer("cache_length", cache_length, "L_cache: length of the linear penalty window before L_max",
              core::Bounds::at_least(1));
    b.num("factor", factor, "penalty at and beyond L_max", core::Bounds::non_negative());
    if (b.mode() == core::Binder::Mode::kRead) {
      core::require(cache_length <= max_length, "overlong_shaping: cache_length (" + std::to_string(cache_length) +
                                                    ") must be <= max_length (" + std::to_string(max_length) + ")");
    }
  }
};

// Overlong shaping changes the sequence rewards: it runs before the advantage estimator.
inline bool shapes_rewards_of(const OverlongOptions&) { return true; }

// R_length(|y|) (B) in the dtype of lengths (float lengths are kept as they are).
torch::Tensor overlong_penalty(const torch::Tensor& lengths,  // (B) |y_i|
                               const OverlongOptions& opts);

// mask with the rows of truncated responses zeroed (B, L).
torch::Tensor overlong_truncation_mask(const torch::Tensor& mask,        // (B, L) 0/1
                                       const torch::Tensor& truncated);  // (B) bool or 0/1

// Selector forms. overlong_shaping: seq_rewards += R_length (lengths, or the mask's row sums);
// metrics overlong/penalized_frac, overlong/mean_penalty. overlong_mask: drops truncated rows;
// metric overlong/truncated_frac.
SelectionOutput overlong_shaping_select(const SelectionInput& in, const OverlongOptions& opts);

struct OverlongMaskOptions {
  void bind(core::Binder&) {}
};
SelectionOutput overlong_mask_select(const SelectionInput& in, const OverlongMaskOptions& opts);

}  // namespace rlpp::algo

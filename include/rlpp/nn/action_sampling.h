// Drawing actions from the policy heads of a control actor (shared by every backend, so that
// the LibTorch and the fast path sample identically from the same generator).
#pragma once
#include <cstdint>

#include "rlpp/core/rng.h"

namespace rlpp::nn {

// Categorical over logits (n, num_actions): writes the chosen index (as a float) to actions (n)
// and log pi(a) to logp (n). deterministic -> argmax. Sampling is by inverse CDF with one
// uniform draw per row, in double precision.
void sample_categorical(const float* logits, int64_t n, int64_t num_actions, core::Rng& rng,
                        bool deterministic, float* actions, float* logp);

// Diagonal Gaussian N(mean, exp(log_std)^2): mean (n, dim), log_std (dim) -> actions (n, dim),
// logp (n). deterministic -> the mean. One standard normal per component, row-major order.
void sample_gaussian(const float* mean, const float* log_std, int64_t n, int64_t dim,
                     core::Rng& rng, bool deterministic, float* actions, float* logp);

}  // namespace rlpp::nn

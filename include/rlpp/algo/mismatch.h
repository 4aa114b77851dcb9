// The train–inference mismatch meter: how far the log-probs recorded by the generation engine at
// sampling are from those the learner computes for the same tokens at the same weights.
//
// Over the trained tokens (mask > 0), with Δ = log π_learner − log π_recorded per token:
//   mean_abs         = mean |Δ|
//   max_abs          = max |Δ|
//   k3               = mean (e^Δ − 1 − Δ)   the k3 estimator of KL(π_recorded ‖ π_learner) (Schulman,
//                      "Approximating KL divergence"), unbiased when the tokens were drawn from
//                      π_recorded (temperature 1, no truncating sampler); otherwise a diagnostic
//   frac_above_0.1   = share of tokens with |Δ| > threshold (0.1 nats)
// In double. The meter returns sums so that data-parallel ranks can add theirs (sum_over_ranks for
// the sums and counts, the maximum over ranks for max_abs) before `mismatch_metrics` divides.
// On the CPU fp32 path the two computations differ only by floating-point summation order;
// docs/language-models.md ("The train–inference mismatch meter") has the measured size.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace rlpp::algo {

namespace metric {
inline constexpr const char* kMismatchMeanAbs = "mismatch/mean_abs";
inline constexpr const char* kMismatchMaxAbs = "mismatch/max_abs";
inline constexpr const char* kMismatchK3 = "mismatch/k3";
inline constexpr const char* kMismatchFracAbove = "mismatch/frac_above_0.1";
inline constexpr const char* kMismatchTokens = "mismatch/tokens";
}  // namespace metric

struct MismatchSums {
  double tokens = 0;   // n: tokens measured (mask > 0)
  double abs_sum = 0;  // Σ |Δ|
  double k3_sum = 0;   // Σ e^Δ − 1 − Δ
  double above = 0;    // #{|Δ| > threshold}
  double abs_max = 0;  // max |Δ| (0 without tokens)
};

// Sums of the meter over the tokens where mask > 0 (a UserError unless the shapes agree). A
// non-finite Δ at a measured token is kept, not hidden: max_abs and k3 become inf.
MismatchSums mismatch_sums(const torch::Tensor& logp_recorded,  // (B, N) log π at sampling (engine)
                           const torch::Tensor& logp_learner,   // (B, N) log π recomputed by the learner
                           const torch::Tensor& mask,           // (B, N) 0/1 (float or bool) tokens trained on
                           double threshold = 0.1);             // nats, for `above`

// Adds `b` into `a` (maximum for abs_max): two ranks' or two batches' sums.
MismatchSums merge(MismatchSums a, const MismatchSums& b);

// The metric rows of `s` (names in metric:: above); NaN means and max without tokens.
std::vector<std::pair<std::string, double>> mismatch_metrics(const MismatchSums& s);

}  // namespace rlpp::algo

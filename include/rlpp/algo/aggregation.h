// Loss aggregation: per-token losses ℓ (B, L) -> one scalar.
//
// Every denominator comes from GLOBAL counts (the whole batch of one optimizer step, over all
// micro-batches and data-parallel ranks), never from the micro-batch at hand. Each mode is then a
// sum over rows of a per-row term divided by a global constant, so the losses (and gradients) of
// any split of the rows into micro-batches add up to the loss of the whole batch:
//
//   token-mean               Σ_{i,t} ℓ / N_tokens                      (DAPO, arXiv 2503.14476)
//   seq-mean-token-sum       Σ_i Σ_t ℓ / N_seqs
//   seq-mean-token-mean      Σ_i (Σ_t ℓ / |o_i|) / N_seqs               (GRPO as published)
//   seq-mean-token-sum-norm  Σ_{i,t} ℓ / (N_seqs · L_max)               (Dr. GRPO, arXiv 2503.20783)
//   token-sum                Σ_{i,t} ℓ
//
// |o_i| is row i's own number of valid tokens (a row is never split). Rows without a valid token
// contribute 0 and are not counted in N_seqs; denominators are clamped to >= 1, so an empty mask
// gives a loss of 0, never NaN. Control data ((M) or (T, N), no sequences) uses token-mean or
// token-sum; the sequence modes need (B, L).
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "rlpp/core/registry.h"

namespace rlpp::algo {

enum class Aggregation { kTokenMean, kSeqMeanTokenSum, kSeqMeanTokenMean, kSeqMeanTokenSumNorm, kTokenSum };

// Registry name <-> enum: "token-mean", "seq-mean-token-sum", "seq-mean-token-mean",
// "seq-mean-token-sum-norm", "token-sum".
core::Registry<Aggregation>& aggregation_registry();
Aggregation aggregation_from_name(const std::string& name);  // UserError listing the valid names
std::string aggregation_name(Aggregation mode);
std::vector<std::pair<std::string, std::string>> list_aggregations();  // (name, summary)

struct AggregationCounts {
  double num_tokens = 0;  // N_tokens: valid tokens in the global batch
  double num_seqs = 0;    // N_seqs: rows with at least one valid token
  double max_len = 0;     // L_max: the padded response length (or the generation budget)
};

// Counts of a full batch's mask. L_max is the mask's last dimension; pass the generation budget
// instead when micro-batches are padded to different lengths (Dr. GRPO's constant). A 1-D mask
// (control, (M)) counts as one sequence.
AggregationCounts aggregation_counts(const torch::Tensor& mask);  // (B, L) or (M), 0/1

// Sums the counts of several shards (micro-batches, ranks); max_len takes the maximum.
AggregationCounts combine_counts(const AggregationCounts& a, const AggregationCounts& b);

// The aggregated loss (0-dim, differentiable through token_loss). `mask` may be {} (all valid).
torch::Tensor aggregate_loss(const torch::Tensor& token_loss,  // (B, L), or (M) for token modes
                             const torch::Tensor& mask,        // same shape, 0/1
                             Aggregation mode, const AggregationCounts& counts);

// Convenience for a batch that is not split: counts from `mask` itself.
torch::Tensor aggregate_loss(const torch::Tensor& token_loss, const torch::Tensor& mask, Aggregation mode);

}  // namespace rlpp::algo

// Policy gradient on searched data (the o1 roadmap's learning from D_search, arXiv 2412.14135):
// every finished solution of a search tree — chosen or not, correct or not — is a sequence the
// policy sampled step by step, so it trains the policy through the same registries as RLVR:
//   advantages  "reward": the verifier reward of each solution through an advantage estimator by
//               name (grpo: normalised within the problem's solutions), broadcast over its tokens;
//               "q": each step's Q(step) − Q(parent) from the tree (a process signal), broadcast
//               over that step's tokens
//               "potential": potential-based shaping (algo/potential_shaping.h) with φ = the tree's
//               Q of the state each step starts from and the verifier reward on the last step;
//               each step's advantage is the γ-discounted return of the shaped rewards from it
//               (with γ = 1: R − φ(state before the step)), broadcast over its tokens
//   objective   by name (ppo_clip, grpo-style clipping, cispo, …), with logp_old = log π of the
//               policy that searched (recomputed before the first update, so the first ratio is
//               exactly 1 and later mini-batches and epochs are clipped against the search policy)
//   aggregation by name (token-mean, seq-mean-token-mean, …) from the whole mini-batch's counts.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objective.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/search/tree_data.h"

namespace rlpp::search {

struct PgRow {
  Tokens prompt;              // as the model was trained on it (e.g. with BOS)
  SearchTrajectory solution;  // a finished solution from the tree (terminal_trajectories)
  int64_t group = 0;          // the problem: solutions of one problem form a group
};

struct PgBatch {
  torch::Tensor tokens;           // (B, L) int64 prompt + steps, right-padded with 0
  torch::Tensor attention;        // (B, L) bool real tokens
  torch::Tensor mask;             // (B, L) float 1 on the steps' tokens (prompt and padding 0)
  torch::Tensor step_advantages;  // (B, L) float Q(step) − Q(parent) on each of the step's tokens
  torch::Tensor rewards;          // (B) float terminal rewards
  torch::Tensor group_ids;        // (B) int64
  torch::Tensor lengths;          // (B) int64 solution tokens
  torch::Tensor step_index;       // (B, L) int64 the step of each solution token, −1 elsewhere
  torch::Tensor step_values;      // (B, K) float Q of the state each step starts from (K = most steps; 0 beyond)
  torch::Tensor num_steps;        // (B) int64 steps of each solution
  int64_t rows() const { return tokens.defined() ? tokens.size(0) : 0; }
};
PgBatch make_pg_batch(const std::vector<PgRow>& rows);
// `b` padded to length L ≥ its own and K ≥ its steps (data-parallel ranks share the shapes); a
// batch without rows becomes one of (0, L) fields.
PgBatch pad_pg_batch(const PgBatch& b, int64_t L, int64_t K);

// (B, L) token advantages: source "q" (the step advantages), "potential" (the shaped returns with
// discount `gamma`) or "reward" (`estimator` on the rewards grouped by problem; UserError without one).
torch::Tensor pg_advantages(const PgBatch& batch, const std::string& source, algo::AdvantageEstimator* estimator,
                            double gamma = 1.0);

struct PgLoss {
  torch::Tensor loss;                            // 0-dim, differentiable
  std::map<std::string, torch::Tensor> metrics;  // the objective's (clipfrac, approx_kl, ...)
};
// The loss of rows `rows` (int64 (M)) of the batch under `model`: objective(log π, logp_old,
// advantages, mask) aggregated with the counts of those rows (one optimizer step's batch; the
// objective's prepare() sees the same rows). logp_old, advantages (B, L).
PgLoss search_pg_loss(nn::lm::TransformerLm& model, const PgBatch& batch, const torch::Tensor& rows,
                      const torch::Tensor& logp_old, const torch::Tensor& advantages,
                      algo::PolicyObjective& objective, algo::Aggregation aggregation);

}  // namespace rlpp::search

// Preference losses: DPO and IPO on a policy against a frozen reference, and the Bradley–Terry loss
// of a reward model. Pure functions with fixed metric names, like the policy objectives
// (objective.h); every loss is the mean over pairs.
//
// Implicit reward of a response y (arXiv 2305.18290):
//   h(y) = Σ_t m_t (log π_θ(y_t | ·) − log π_ref(y_t | ·))      (m = the tokens the loss counts)
// DPO  (arXiv 2305.18290):  ℓ = −(1 − ε) log σ(β(h_w − h_l)) − ε log σ(−β(h_w − h_l))
//                           (ε = label smoothing, conservative DPO; ε = 0 is plain DPO)
// IPO  (arXiv 2310.12036):  ℓ = ((h_w − h_l) − 1/(2β))²
// Bradley–Terry (reward model):  P(y_w ≻ y_l) = σ(r_w − r_l),  ℓ = −log σ(r_w − r_l)
//
// Sequence-level pairs count every response token (m = the response mask). Step-level pairs
// (MCTS-DPO, arXiv 2405.00451) share a prefix and count only the tokens from the divergence point
// on: divergence_masks() builds those masks. The shared prefix's log-ratios cancel in exact
// arithmetic; the masks remove them so that rounding noise of long prefixes does not either.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>

#include "rlpp/core/config.h"

namespace rlpp::algo {

struct PreferenceInput {
  torch::Tensor logp_chosen;         // (B, L) log π_θ of the chosen response's tokens; requires grad
  torch::Tensor logp_rejected;       // (B, L') log π_θ of the rejected response's tokens
  torch::Tensor ref_logp_chosen;     // (B, L) log π_ref (never differentiated)
  torch::Tensor ref_logp_rejected;   // (B, L')
  torch::Tensor mask_chosen;         // (B, L) float 0/1 tokens counted; {} = all
  torch::Tensor mask_rejected;       // (B, L')
};

struct PreferenceOutput {
  torch::Tensor loss;                            // 0-dim mean over the B pairs
  std::map<std::string, torch::Tensor> metrics;  // 0-dim, detached; names below
};

// Metrics of dpo_loss / ipo_loss (means over pairs):
//   reward_chosen    β·h_w            reward_rejected  β·h_l
//   reward_margin    β·(h_w − h_l)    reward_accuracy  fraction with h_w > h_l
// bradley_terry_loss reports reward_margin (r_w − r_l) and reward_accuracy (r_w > r_l).
namespace metric {
inline constexpr const char* kRewardChosen = "reward_chosen";
inline constexpr const char* kRewardRejected = "reward_rejected";
inline constexpr const char* kRewardMargin = "reward_margin";
inline constexpr const char* kRewardAccuracy = "reward_accuracy";
}  // namespace metric

struct DpoOptions {
  double beta = 0.1;             // MCTS-DPO and DPO default
  double label_smoothing = 0.0;  // ε in [0, 0.5)
  void bind(core::Binder& b);
};
PreferenceOutput dpo_loss(const PreferenceInput& in, const DpoOptions& opts);

struct IpoOptions {
  double beta = 0.1;  // target margin 1/(2β)
  void bind(core::Binder& b);
};
PreferenceOutput ipo_loss(const PreferenceInput& in, const IpoOptions& opts);

// r_chosen, r_rejected (B) scalar rewards of a reward model; ℓ = mean softplus(−(r_w − r_l)).
PreferenceOutput bradley_terry_loss(const torch::Tensor& r_chosen, const torch::Tensor& r_rejected);

// The first position t where the two token rows differ within their masks (or the shorter length
// when one is a prefix of the other); tokens (L) and (L') int64, mask (L), (L') bool or 0/1.
int64_t divergence_point(const torch::Tensor& tokens_a, const torch::Tensor& mask_a, const torch::Tensor& tokens_b,
                         const torch::Tensor& mask_b);

// Step-level masks: each row's mask with positions before that row's divergence point zeroed.
//   tokens_* (B, L*) int64, mask_* (B, L*) bool or 0/1. Returns float masks (B, L_chosen), (B, L_rejected).
std::pair<torch::Tensor, torch::Tensor> divergence_masks(const torch::Tensor& tokens_chosen,
                                                         const torch::Tensor& mask_chosen,
                                                         const torch::Tensor& tokens_rejected,
                                                         const torch::Tensor& mask_rejected);

}  // namespace rlpp::algo

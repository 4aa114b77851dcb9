// PROPS — Proximal Robust On-Policy Sampling (Corrado & Hanna, arXiv 2311.08290). On-policy
// learning needs on-policy *data*: a behaviour policy π_φ collects data so that the buffer's
// empirical action distribution matches the target policy π_θ. φ is reset to θ and then pushed
// to lower the probability of actions the buffer already holds (so under-sampled actions are
// drawn next):
//   L(φ) = mean_i[ max(r_i, clip(r_i, 1−ε, 1+ε)) ] + λ · mean_i KL(π_φ(·|s_i) ‖ π_θ(·|s_i)),
//   r_i = π_φ(a_i|s_i) / π_θ(a_i|s_i).
// Lowering r_i lowers the loss; once r_i < 1 − ε the clipped term is the larger one and has no
// gradient, so an action is not pushed further; the KL keeps φ near θ.
// Sampling error of a buffer D: KL(π_D ‖ π_θ) ≈ mean_i[ log π_D(a_i|s_i) − log π_θ(a_i|s_i) ] with
// π_D the maximum-likelihood policy fit to D (from θ, feature layers frozen).
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace rlpp::algo {

struct PropsLossOptions {
  double clip_coef = 0.3;  // ε
  double kl_coef = 0.3;    // λ
};

struct PropsLossOutput {
  torch::Tensor loss;                            // 0-dim, differentiable w.r.t. logp_phi and kl
  std::map<std::string, torch::Tensor> metrics;  // "clip_loss", "kl", "clipfrac" (0-dim, detached)
};

// logp_phi, logp_theta: (B) log-probabilities of the buffer's actions under π_φ and π_θ (θ is
// the fixed target: detach it); kl: (B) KL(π_φ(·|s_i) ‖ π_θ(·|s_i)) per state.
PropsLossOutput props_loss(const torch::Tensor& logp_phi, const torch::Tensor& logp_theta,
                           const torch::Tensor& kl, const PropsLossOptions& opts);

// KL(p ‖ q) per row of two diagonal Gaussians (B, A) (state-independent log σ broadcast (A)):
//   Σ_a [ log σq − log σp + (σp² + (μp − μq)²) / (2 σq²) − 1/2 ]  → (B)
torch::Tensor gaussian_kl(const torch::Tensor& mean_p, const torch::Tensor& log_std_p,
                          const torch::Tensor& mean_q, const torch::Tensor& log_std_q);

// KL(p ‖ q) per row of two categorical distributions given by logits (B, A):
//   Σ_a p_a (log p_a − log q_a)  → (B)
torch::Tensor categorical_kl(const torch::Tensor& logits_p, const torch::Tensor& logits_q);

// mean(logp_d − logp_theta): the sampling-error estimate KL(π_D ‖ π_θ) over a buffer. (B), (B) → double
double sampling_error(const torch::Tensor& logp_d, const torch::Tensor& logp_theta);

}  // namespace rlpp::algo

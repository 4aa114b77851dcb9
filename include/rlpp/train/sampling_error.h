// PROPS's sampling error (ENVIRONMENTS.md): KL(π_D‖π_θ) ≈ mean over the buffer of
// log π_D(a|s) − log π_θ(a|s), where π_D is θ with its last actor layer (and log σ) refit by
// maximum likelihood on the buffer's (s, a) pairs, starting from θ, features frozen: `steps`
// full-batch Adam steps (LibTorch's formulas, eps 1e-8, no clipping) at learning rate `lr`.
//
// Gaussian policies take the sufficient-statistics path: with x = [h(s), 1] (the frozen features
// and a constant), μ_j = w_j·x and per action dimension j
//   SSE_j(w) = Σ_i (a_ij − w·x_i)² = s_j − 2 w·c_j + wᵀ G w,  G = Σ x xᵀ, c_j = Σ x a_ij, s_j = Σ a_ij²,
//   NLL = Σ_j [e^{−2 log σ_j} SSE_j / (2B) + log σ_j] + const,
//   ∂NLL/∂w_j = e^{−2 log σ_j} (G w_j − c_j) / B,   ∂NLL/∂log σ_j = 1 − e^{−2 log σ_j} SSE_j / B,
// so after one pass over the buffer (G, c, s) each step costs O(A·F²) instead of O(B·F·A).
// Categorical policies, and the reference for the Gaussian path, use LibTorch autograd on the
// per-sample log-probabilities.
#pragma once
#include <torch/torch.h>

#include "rlpp/nn/actor_critic.h"

namespace rlpp::train {

// obs (B, obs_dim) normalised as θ sees them, actions (B, act_flat) -> the KL estimate.
double measure_sampling_error(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                              int steps, double lr);

// The same fit by autograd over the B samples (both policy kinds).
double measure_sampling_error_autograd(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                                       int steps, double lr);

}  // namespace rlpp::train

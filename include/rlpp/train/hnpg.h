// HNPG, hybrid natural policy gradient (Zhou, Sekhari, Song, Sun 2023, "Offline Data Enhanced
// On-Policy Policy Gradient with Provable Guarantees", arXiv 2311.08384, Algorithm "HNPG" and its
// released code): an on-policy NPG whose critic Q_φ(s, a) is fit on both the on-policy rollouts and
// an offline dataset (hybrid fitted policy evaluation, HPE). Each update:
//   1. a rollout of ppo.num_steps x env.num_envs steps under π_θ;
//   2. on-policy targets G_t: the advantage estimator's returns (gae at ppo.gamma, ppo.gae_lambda)
//      with V(s) = (1/K) Σ_k Q_φ(s, a_k), a_k ~ π_θ(·|s) (K = hnpg.value_samples);
//   3. offline targets on M rows (s, a, r, s', d) drawn uniformly from [dataset] path:
//      y = r + γ (1 − d) Q_φ(s', a'), a' ~ π_θ(·|s') (fixed during the fit);
//   4. critic: hnpg.critic_steps full-batch Adam steps (a fresh Adam each update, as the code) on
//        L(φ) = mean_on (Q_φ(s, a) − G)² + λ_off · mean_off (Q_φ(s, a) − y)² + l2 · ‖φ‖²;
//   5. advantages again with the fitted critic; offline rows join the actor's batch (the code's
//      HYBRID actor) with a ~ π_θ(·|s) and Â = Q_φ(s, a) − V(s);
//   6. the natural gradient step, as the paper's code takes it (TRPO's step): the surrogate
//      L(θ) = −mean(Â · π_θ(a|s) / π_old(a|s)), direction x = (F + δI)⁻¹(−∇L) by hnpg.cg_iters steps
//      of conjugate gradient on the Fisher-vector product F v = ∇(∇KL(π_old‖π_θ) · v) (double
//      backward of the mean KL, no explicit F), step x · sqrt(2 max_kl / xᵀ(F + δI)x), then a
//      backtracking line search (halving, hnpg.backtracks tries) that accepts when the surrogate
//      improves by more than accept_ratio of the linear prediction.
// Without [dataset] (or with dataset.path = "") the same trainer is plain NPG with a Q critic fit
// on-policy (the baseline).
// Continuous (Box) actions, policy.backend = "torch", a single process.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train {

// The [hnpg] section; defaults from the paper's code (HNPG/utils.py, trpo.py).
struct HnpgOptions {
  int critic_steps = 30;           // Adam steps per update on the hybrid critic loss
  double critic_lr = 3e-4;
  std::vector<int64_t> critic_hidden{64, 64};  // tanh MLP of Q(s, a)
  double offline_weight = 1.0;     // λ_off on the offline Bellman error
  int offline_batch = 0;           // offline rows per update (0 = as many as the rollout's)
  bool offline_actor = true;       // offline states join the actor's batch
  int value_samples = 10;          // K in V(s) = mean_k Q(s, a_k)
  double l2_reg = 0.0;             // on the critic's parameters
  double max_kl = 0.01;
  double damping = 0.1;            // δ
  int cg_iters = 10;
  int backtracks = 10;
  double accept_ratio = 0.1;

  void bind(core::Binder& b);
};

// The hybrid critic loss (step 4 without the l2 term) and its two parts, in float. q_on, g_on: (B);
// q_off, rewards, terminals, q_next: (M) (terminals 0/1; the target y = r + γ (1 − d) q_next is
// taken without gradient). M = 0 (undefined q_off): the on-policy part alone.
struct HybridCriticLoss {
  torch::Tensor loss;          // () on + offline_weight · off
  double on_loss = 0, off_loss = 0;
};
HybridCriticLoss hybrid_critic_loss(const torch::Tensor& q_on, const torch::Tensor& g_on, const torch::Tensor& q_off,
                                    const torch::Tensor& rewards, const torch::Tensor& terminals,
                                    const torch::Tensor& q_next, double gamma, double offline_weight);

// Mean over rows of KL(N(μ_old, σ_old²) ‖ N(μ, σ²)), summed over the A components. mean, mean_old:
// (B, A); log_std, log_std_old: (A).
torch::Tensor gaussian_kl(const torch::Tensor& mean_old, const torch::Tensor& log_std_old, const torch::Tensor& mean,
                          const torch::Tensor& log_std);

// (F + damping I) v with F v = ∇_θ(∇_θ kl() · v) at the current parameters (kl() is 0 with zero
// gradient there: KL to a frozen copy of the current policy). v and the result: flat (P).
torch::Tensor fisher_vector_product(const std::function<torch::Tensor()>& kl, const std::vector<torch::Tensor>& params,
                                    const torch::Tensor& v, double damping);

// x with A x ≈ b by `iters` steps of conjugate gradient from x = 0 (stops once rᵀr < tol).
torch::Tensor conjugate_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& Avp, const torch::Tensor& b,
                                 int iters, double tol = 1e-10);

struct NpgStep {
  double loss_before = 0, loss_after = 0;
  double kl = 0;           // mean KL(π_old ‖ π_new) after the step
  double step_fraction = 0;  // of the full step taken (0 = rejected, parameters unchanged)
  double grad_norm = 0;
};
// Step 6 on `params` (changed in place): surrogate() and kl() evaluate at the current parameters.
NpgStep npg_step(const std::vector<torch::Tensor>& params, const std::function<torch::Tensor()>& surrogate,
                 const std::function<torch::Tensor()>& kl, const HnpgOptions& opts);

// Registered as algorithm "hnpg".
std::unique_ptr<Trainer> make_hnpg_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train

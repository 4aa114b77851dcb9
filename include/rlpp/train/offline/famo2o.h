// FamO2O on IQL (Wang, Yang, Gao, Lin, Chen, Huang, Huang & Huang 2023, "Train Once, Get a Family:
// State-Adaptive Balances for Offline-to-Online Reinforcement Learning", NeurIPS 2023,
// arXiv 2310.17966), as the authors' jax_iql code (family_learner.py, family_actor.py,
// family_temperature.py, family_train_finetune.py). IQL's balance between policy improvement and
// the constraint to the data is its AWR temperature β; FamO2O learns a family of policies, one
// per β, and picks β per state:
//   universal model  π_u(a | s, e(β)): IQL's Gaussian actor on [s, e(β)], e the sinusoidal
//                    encoding e_{2i}(β) = sin(β / n^{2i/d}), e_{2i+1}(β) = cos(β / n^{2i/d}),
//                    i < d/2, d = 6, n = 10000;
//   balance model    β = B(s): a tanh-squashed Gaussian u = tanh(x), x ~ N(μ_B(s), σ_B²) (σ_B a
//                    state-independent parameter, log σ_B clipped to [−10, 2]) mapped to the
//                    range: β = β_min + (u + 1)/2 · (β_max − β_min), [β_min, β_max] = [1, 5].
// Per gradient step, in this order (V, Q, Q' and the AWR weights as IQL, iql.h):
//   V:  L_V = mean_b L_2^τ(min(Q1', Q2')(s_b, a_b) − V(s_b)), τ = 0.7;
//   B:  L_B = mean_b [ α log p_B(u_b | s_b) − min(Q1', Q2')(s_b, ã_b) ],
//       u_b = tanh(μ_B(s_b) + σ_B ε_b), β_b from u_b, ã_b = μ_u(s_b, e(β_b)) + σ_u ε'_b
//       (reparameterised: the gradient reaches B through β, the encoding and the universal model,
//       whose weights this loss does not change); log p_B(u|s) = log N(x; μ_B, σ_B²) − log(1 − u²);
//   α:  L_α = α (H − H̄), H = −mean_b log p_B(u_b|s_b) (detached), H̄ = −0.5, α = exp(log α), α_0 = 1
//       (SAC's temperature on the balance model's entropy);
//   π_u: L_π = −mean_b w_b log π_u(a_b | s_b, e(β_b)),  w_b = min(exp(β_b (min(Q1', Q2')(s_b, a_b) −
//       V(s_b))), 100) with the updated V; offline β_b ~ U[β_min, β_max] (the family is trained on
//       every coefficient), online β_b = B(s_b) sampled from the balance model before its update
//       (family_train_finetune.py: random_hierarchical_coefficients = (i < 1));
//   Q:  L_Q = mean_b (Q1 − y)² + mean_b (Q2 − y)², y = r + γ (1 − d) V(s');  Q' ← τ_p Q + (1 − τ_p) Q'.
// Adam 3e-4 for everything, the universal model's lr cosine-decayed over the run (the code's
// default opt_decay_schedule), rewards scaled by 1000 / (max − min episode return).
// Acting: β = β_min + (tanh(μ_B(s)) + 1)/2 · (β_max − β_min), then π_u's mean. Exploring (the
// online phase, offline.online_steps): the same β, then a sample of π_u, clipped to the box.
// The code's [1, 5] range is its learner's default (the repository's only config is antmaze's,
// [8, 14]); IQL's locomotion β = 3 lies inside it. Losses pure and tested
// (tests/train/offline/o2o_test.cpp).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

namespace metric {
inline constexpr const char* kBalanceLoss = "losses/balance_loss";        // FamO2O: L_B
inline constexpr const char* kBalanceBeta = "losses/balance_beta";        // FamO2O: mean β = B(s) sampled
inline constexpr const char* kBalanceEntropy = "losses/balance_entropy";  // FamO2O: −mean log p_B
inline constexpr const char* kBalanceAlpha = "losses/balance_alpha";      // FamO2O: the balance model's α
}  // namespace metric

// The [famo2o] section (the code's defaults; V, Q and π_u as IQL's locomotion settings).
struct Famo2oOptions {
  double actor_lr = 3e-4;        // universal model
  double critic_lr = 3e-4;
  double value_lr = 3e-4;
  double balance_lr = 3e-4;      // balance model (the code: actor_lr, no decay)
  double temperature_lr = 3e-4;  // α of the balance model
  double expectile = 0.7;
  double max_weight = 100.0;
  double tau = 0.005;
  bool cosine_actor_lr = true;
  double beta_min = 1.0;         // coefficient range of the family
  double beta_max = 5.0;
  int encoding_dim = 6;          // d of the sinusoidal encoding (even)
  double encoding_base = 10000.0;  // n
  double target_entropy = -0.5;  // H̄ of the balance model
  double init_temperature = 1.0;  // α_0
  std::vector<int64_t> hidden{256, 256};

  void bind(core::Binder& b);
};

// e(β): (B, d) with e_{2i} = sin(β / n^{2i/d}), e_{2i+1} = cos(β / n^{2i/d}). beta: (B).
torch::Tensor sin_cos_encoding(const torch::Tensor& beta, int d, double n);
// β = lo + (u + 1)/2 · (hi − lo). u: (B) in (−1, 1).
torch::Tensor coefficient_from_unit(const torch::Tensor& u, double lo, double hi);
// A reparameterised tanh-Gaussian draw: x = mean + exp(log_std) · noise, u = tanh(x),
// logp = log N(x; mean, σ²) − log(1 − tanh² x) (the stable form 2 (log 2 − x − softplus(−2x))).
// mean, noise: (B); log_std: (1) or (B).
struct TanhSample {
  torch::Tensor u;     // (B)
  torch::Tensor logp;  // (B)
};
TanhSample tanh_gaussian_sample(const torch::Tensor& mean, const torch::Tensor& log_std, const torch::Tensor& noise);
// min(exp(β_b · adv_b), max_weight), a coefficient per row. adv, beta: (B).
torch::Tensor family_awr_weights(const torch::Tensor& adv, const torch::Tensor& beta, double max_weight);
// L_B = mean_b (α logp_b − q_b). logp, q: (B).
torch::Tensor balance_loss(const torch::Tensor& logp, const torch::Tensor& q, double alpha);

std::unique_ptr<Trainer> make_famo2o_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline

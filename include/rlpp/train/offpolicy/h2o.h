// H2O: dynamics-aware hybrid offline-and-online RL (Niu et al. 2022, "When to Trust Your
// Simulator", NeurIPS 2022, arXiv 2206.13464), as the authors' SimpleSAC/sim2real_sac.py with its
// defaults. SAC learns from a fixed dataset of the REAL environment ([replay] offline_dataset,
// half of every minibatch, offline_mix.h) and from transitions of a SIMULATOR with shifted
// dynamics (the run's [env]: env.gravity_scale = 2, env.friction_scale = 0.3 or the joint noise
// env.action_noise_std, the paper's three), the other half; the policy is evaluated on the real
// environment ([env] with gravity_scale = friction_scale = 1, no action noise) with the D4RL score.
//
// Two discriminators with 2 logits each (index 0 = real, 1 = sim; 2·tanh of a ReLU MLP), D_sa on
// (s, a) and D_sas on (s, a, s'), give
//   p_sa = softmax(D_sa(s, a)),  p_sas = softmax(D_sas(s, a, s') + D_sa(s, a))
//   L_D = mean_real[−log p_sa,0 − log p_sas,0] + mean_sim[−log p_sa,1 − log p_sas,1]
// (D_sa steps on both terms, D_sas on the second; 256 real and 256 sim rows, inputs with N(0, 0.1²)
// noise). The dynamics ratio of a simulated transition is
//   P_real(s'|s,a) / P_sim(s'|s,a) = (p_sas,0 / p_sas,1) · (p_sa,1 / p_sa,0)
// and the dynamics gap u(s, a) = clip(mean_k log(P_sim/P_real)(s, a, s'_k), 1e-45, 10), with
// s'_k = s' + σ_obs ε_k, k = 1..10 (σ_obs: the dataset's observation std) (the code's
// kl_sim_divergence). The critics j = 1, 2 minimise (the paper's dynamics-aware policy evaluation, in the code's form)
//   L_Q = mean_real (Q_j − y)² + mean_sim w (Q_j − y)²
//         + β · clip(T log Σ_{b ∈ sim} exp((Q_j(s_b, a_b) + log ω_b)/T) − mean_real Q_j, −1000, 1000)
//   w = clip(P_real/P_sim, 1e-5, 1),  ω = u / Σ_sim u,  β = 0.01 (cql_min_q_weight), T = 1,
//   y = r + γ (1 − d) min(Q1', Q2')(s', a'),  a' ~ π(·|s')   (no entropy in the backup)
// i.e. Q is pushed down on simulated pairs with a large dynamics gap and up on real data, and the
// Bellman error of a simulated transition is weighted by its dynamics ratio. The actor and the
// temperature are SAC's (sac.h) on all B states; Adam 3e-4 for actor, critics, temperature and
// discriminators; τ 0.005 every step; 256-256 networks. Differences from the code: rlpp's
// schedule interleaves one gradient step with each simulator step (the code: 1000 steps, then
// 1000 gradient steps), SAC's temperature loss is sac.h's (−exp(log α)(log π + H̄), the code
// −log α (log π + H̄)), the actor is CleanRL's bounded-log-std Gaussian, and σ_obs is the
// dataset's std (the code's includes the empty rows of its buffer). Losses pure and tested
// (tests/train/offpolicy/h2o_test.cpp).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offpolicy {

// The [h2o] section (sim2real_sac.py's defaults).
struct H2oOptions {
  double policy_lr = 3e-4;       // also the temperature's
  double qf_lr = 3e-4;
  double discriminator_lr = 3e-4;  // d_sa_lr = d_sas_lr
  double tau = 0.005;
  double cql_weight = 0.01;      // β (cql_min_q_weight)
  double cql_temperature = 1.0;  // T (cql_temp)
  double cql_clip = 1000.0;      // the penalty is clipped to [−cql_clip, cql_clip]
  double ratio_min = 1e-5;       // clip of P_real/P_sim in the Bellman weight
  double ratio_max = 1.0;
  double gap_min = 1e-45;        // clip of u (sim_q_coeff_min, _max)
  double gap_max = 10.0;
  int next_state_samples = 10;   // s'_k per simulated transition (sampling_n_next_states)
  double next_state_noise = 1.0;  // s'_k = s' + this · σ_obs · ε (s_prime_std_ratio)
  double discriminator_noise = 0.1;  // input noise std while training the discriminators
  int discriminator_batch = 256;     // real and sim rows of each discriminator step
  bool autotune = true;
  double alpha = 1.0;            // temperature when autotune is off (and its start: log α = 0)
  std::vector<int64_t> hidden{256, 256};
  std::vector<int64_t> discriminator_hidden{256, 256};
  int eval_every = 10;           // metrics rows between evaluations on the real env (0 = only the last)
  int eval_episodes = 5;         // (eval_n_trajs)
  std::string reference_returns;  // "" = configs/d4rl_reference_returns.toml

  void bind(core::Binder& b);
};

// The discriminators' losses. *_sa, *_sas: (B, 2) logits of D_sa and D_sas on real and sim rows.
struct H2oDiscriminatorLoss {
  torch::Tensor sa;   // () mean_real −log p_sa,0 + mean_sim −log p_sa,1  (the code's dsa_loss)
  torch::Tensor sas;  // () the same with p_sas = softmax(sas + sa)        (dsas_loss)
};
H2oDiscriminatorLoss h2o_discriminator_loss(const torch::Tensor& real_sa, const torch::Tensor& real_sas,
                                            const torch::Tensor& sim_sa, const torch::Tensor& sim_sas);

// log P_real/P_sim(s'|s, a) = log p_sas,0 − log p_sas,1 − log p_sa,0 + log p_sa,1. sa, sas: (B, 2)
// logits -> (B).
torch::Tensor h2o_log_dynamics_ratio(const torch::Tensor& sa, const torch::Tensor& sas);

// u = clip(mean_k −log_ratio[:, k], lo, hi). log_ratio: (B, K) log P_real/P_sim at the K sampled
// next states -> (B).
torch::Tensor h2o_dynamics_gap(const torch::Tensor& log_ratio, double lo, double hi);

// The conservative term of one critic (before β):
//   clip(T log Σ_b exp((q_sim_b + log ω_b) / T) − mean q_real, −clip, clip),  ω = gap / Σ gap
// (at T = 1: log Σ_b ω_b exp(q_sim_b)).
// q_sim, gap: (B_sim); q_real: (B_real) -> ().
torch::Tensor h2o_cql_penalty(const torch::Tensor& q_sim, const torch::Tensor& gap, const torch::Tensor& q_real,
                              double temperature, double clip);

// The Bellman error of one critic: mean_real (q − y)² + mean_sim w (q − y)².
// q_real, y_real: (B_real); q_sim, y_sim, w: (B_sim) -> ().
torch::Tensor h2o_bellman_error(const torch::Tensor& q_real, const torch::Tensor& y_real, const torch::Tensor& q_sim,
                                const torch::Tensor& y_sim, const torch::Tensor& w);

std::unique_ptr<Trainer> make_h2o_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offpolicy

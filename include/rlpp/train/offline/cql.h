// Conservative Q-learning (Kumar, Zhou, Tucker & Levine 2020, arXiv 2006.04779), CQL(H) on a SAC
// base as the authors' reference code (young-geng/CQL, SimpleSAC/conservative_sac.py) with its
// locomotion defaults: twin critics trained with
//   L_Q = Σ_{j=1,2} [ mean_b (Q_j(s_b, a_b) − y_b)²  +  α · mean_b ( log Σ_k exp(Q_j(s_b, ã_k) − log μ(ã_k)) − Q_j(s_b, a_b) ) ]
//   y = r + γ (1 − d) min(Q1', Q2')(s', a'),  a' ~ π(·|s')       (no entropy term in the backup)
// where for each s_b the ã_k are 10 uniform actions on the box (log μ = −Σ_i log(high_i − low_i)),
// 10 actions of π(·|s_b) and 10 of π(·|s'_b) (log μ = their log π, detached), i.e. 30 terms with
// importance correction (the paper's appendix F, eq. (30)), α = 5 (cql_min_q_weight), temperature 1.
// The actor and the entropy temperature are SAC's (sac.h: tanh-squashed Gaussian, CleanRL's
// bounded log-std; temperature tuned toward −|A|). Adam 3e-4 for actor, critics and temperature,
// τ 0.005, batch 256, 256-256 nets. The Lagrange variant (cql.lagrange, the code's cql_lagrange)
// weights each critic's penalty by α'·α with α' tuned so that the penalty meets a target gap
// (cql_lagrange_terms below). Acting: tanh of the Gaussian's mean (rescaled to the box). Online
// (offline.online_steps, the same losses go on, as SAC/CQL fine-tune) it explores with a sample of
// the tanh-Gaussian, a = tanh(μ(s) + σ(s) ε) · scale + bias, ε ~ N(0, I) from the run's generator.
// Losses pure and tested (tests/train/offline/offline_losses_test.cpp, cql_lagrange_test.cpp).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

// The [cql] section (young-geng/CQL's defaults).
struct CqlOptions {
  double policy_lr = 3e-4;      // also the temperature's
  double qf_lr = 3e-4;
  double tau = 0.005;
  double cql_alpha = 5.0;       // α, the weight of the conservative penalty (cql_min_q_weight)
  int n_actions = 10;           // actions sampled per state from each of the three proposals
  double temperature = 1.0;     // of the log-sum-exp (cql_temp)
  bool importance_sample = true;  // subtract log μ of each proposal (else: logsumexp over the raw Q's and Q(s, a))
  bool autotune = true;         // SAC's temperature toward −|A|
  double alpha = 1.0;           // SAC's temperature when autotune is off
  bool lagrange = false;        // cql_lagrange: the penalty weighted by α' tuned toward target_action_gap
  double target_action_gap = 1.0;  // cql_target_action_gap (conservative_sac.py's default)
  std::string backend = "libtorch";  // the critics' step: "libtorch" (autograd, the reference) or "fast"
  std::vector<int64_t> hidden{256, 256};

  void bind(core::Binder& b);
};

// The conservative penalty of one critic, mean_b of
//   T · log Σ_k exp(c_{b,k} / T) − Q(s_b, a_b),
// c = [q_rand − log_mu_rand, q_next − logp_next, q_curr − logp_curr] (importance_sample), or
// c = [q_rand, Q(s_b, a_b), q_next, q_curr] (without: the code's cql_importance_sample = False).
// q_data: (B); q_rand, q_curr, logp_curr, q_next, logp_next: (B, n); log_mu_rand: a number.
torch::Tensor cql_penalty(const torch::Tensor& q_data, const torch::Tensor& q_rand, double log_mu_rand,
                          const torch::Tensor& q_curr, const torch::Tensor& logp_curr, const torch::Tensor& q_next,
                          const torch::Tensor& logp_next, double temperature, bool importance_sample);

// The Lagrange variant (conservative_sac.py, cql_lagrange; the paper's eq. (4) with τ = the gap):
// α' = clamp(exp(log α'), 0, 1e6) (log α' starts at 1, its own Adam at qf_lr); w = cql_alpha;
//   critic term     Σ_k α' w (P_k − gap)         (α' as a number: gradient into the penalties P_k)
//   α' loss        −½ Σ_k α' w (P_k − gap)       (P_k as numbers: gradient into log α' only)
// so dL_α'/dlog α' = −½ α' w Σ_k (P_k − gap): α' grows while the penalties exceed the gap.
// penalty1, penalty2: () the two critics' cql_penalty; log_alpha_prime: (1).
struct CqlLagrange {
  torch::Tensor critic_term;       // ()
  torch::Tensor alpha_prime_loss;  // ()
  double alpha_prime = 0;          // α' before its step
};
CqlLagrange cql_lagrange_terms(const torch::Tensor& log_alpha_prime, const torch::Tensor& penalty1,
                               const torch::Tensor& penalty2, double weight, double gap);

// log α' at the start of a Lagrange run (conservative_sac.py: Scalar(1.0)).
inline constexpr double kCqlLogAlphaPrimeInit = 1.0;
// Upper clamp of α' (conservative_sac.py: torch.clamp(..., max=1000000.0)).
inline constexpr double kCqlAlphaPrimeMax = 1e6;

std::unique_ptr<Trainer> make_cql_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline

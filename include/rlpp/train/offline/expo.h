// EXPO, expressive policy optimization (Dong, Li, Sadigh & Finn 2025, arXiv 2507.07986), as its
// released code (EXPOLearner on RLPD, with expo_config.py and the README's commands):
//   * the base policy π_base(a|s): a DDPM over actions (diffusion_policy.h, T = 10 VP steps), trained
//     only by imitation, L_base = mean_b Σ_k (ε̂ − ε)², with AdamW (lr 3e-4, weight decay 1e-4,
//     cosine-decayed over 3M steps) on every row of the buffer (dataset and online); an EMA copy
//     (rate 0.001) samples the actions the agent plays;
//   * the edit policy π_edit(δ|s, a): a tanh-squashed Gaussian on [s, a] (SAC's actor, 3 × 256
//     ReLU), the edit β δ (δ ∈ (−1, 1)^A, in units of the box's half-width) added to a base action:
//     ã = clip(a + β δ, box) when playing and backing up;
//       L_edit = mean_b (α log π_edit(βδ_b|s_b, a_b) − mean_e Q_e(s_b, a_b + β δ_b)),  δ reparameterised,
//     with a_b the batch's action (the code's update_edit_actor) and the log-density of the scaled
//     edit (log π(δ) − A log β);
//   * the temperature: L_α = α (H − H_target), H = −mean log π_edit, H_target = −|A|/2, Adam 3e-4, α₀ = 1;
//   * on-the-fly selection (OTF): N base samples per state, the first M of them edited; of the N + M
//     candidates the one with the largest min_{e∈S} Q'_e (S: num_min_qs target critics drawn at
//     random, RLPD's subsample_ensemble) is played and is the TD backup's next action:
//       y = r + γ (1 − d) min_{e∈S'} Q'_e(s', a'_OTF),  no entropy term (backup_entropy false);
//   * critics: an ensemble of num_qs = 10 LayerNorm MLPs (q_ensemble.h),
//       L_Q = mean_{e,b} (Q_e(s_b, a_b) − y_b)²,  Polyak τ = 0.005, Adam 3e-4;
//   * the schedule (RLPD's update with utd_ratio): per online env step updates_per_step (UTD = 20)
//     critic steps, each on its own minibatch of 256 drawn half from the dataset and half from the
//     online rows (offline.offline_ratio = 0.5, RLPD's symmetric sampling), then one step of the
//     base policy, the edit policy and α on the last minibatch.
// The offline phase (run.total_steps > 0 gradient steps) is the code's update_offline: pre-training
// of the base policy by imitation on the dataset, with the critics (expo.pretrain_q) and the edit
// policy (expo.pretrain_edit) left untrained by default, as its fine-tuning commands; the online
// phase (offline.online_steps) then runs the whole method. Acting and evaluating use OTF (a
// stochastic policy: draws from the run's generator). Continuous (bounded Box) actions only; the
// losses are pure functions, tested in tests/train/offline/expo_test.cpp.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

namespace metric {
inline constexpr const char* kDiffusionLoss = "losses/diffusion_loss";  // EXPO: the base policy's ε-prediction loss
inline constexpr const char* kEditQ = "losses/edit_q";                  // EXPO: mean_e Q_e(s, a + βδ) of the edit step
inline constexpr const char* kEditEntropy = "losses/edit_entropy";      // EXPO: −mean log π_edit
inline constexpr const char* kOtfEdited = "charts/otf_edited_fraction"; // EXPO: share of TD backups whose OTF pick is an edit
}  // namespace metric

// The [expo] section (expo_config.py with the README's command-line settings).
struct ExpoOptions {
  int diffusion_steps = 10;                  // T of the VP schedule
  int64_t time_dim = 128;                    // Fourier features of the step
  int64_t base_hidden = 256;                 // width of the noise predictor's residual trunk
  int base_blocks = 3;                       // its residual blocks (LayerNorm on)
  double base_lr = 3e-4;                     // AdamW
  double base_weight_decay = 1e-4;           // optax.adamw's default
  int64_t base_lr_decay_steps = 3000000;     // cosine decay of base_lr over this many base steps
  double base_ema = 0.001;                   // rate of the EMA copy that samples the played actions
  int samples = 8;                           // N base actions per state
  int edit_samples = 8;                      // M ≤ N of them edited
  double edit_scale = 0.05;                  // β, in units of the box's half-width
  std::vector<int64_t> edit_hidden{256, 256, 256};
  double edit_lr = 3e-4;
  std::vector<int64_t> critic_hidden{256, 256, 256};
  int num_qs = 10;                           // critics in the ensemble
  int num_min_qs = 2;                        // of them drawn for each min (selection, backup)
  bool critic_layer_norm = true;
  double critic_lr = 3e-4;
  double tau = 0.005;                        // Polyak coefficient of the target critics
  double init_temperature = 1.0;
  double temperature_lr = 3e-4;
  double target_entropy_per_dim = -0.5;      // H_target = this · |A|
  bool pretrain_q = false;                   // offline phase: also train the critics
  bool pretrain_edit = false;                // offline phase: also train the edit policy and α

  void bind(core::Binder& b);
};

// clip(base + β · scale ⊙ δ, low, high). base, delta: (n, A); scale, low, high: (A).
torch::Tensor expo_edit(const torch::Tensor& base, const torch::Tensor& delta, double beta, const torch::Tensor& scale,
                        const torch::Tensor& low, const torch::Tensor& high);

// On-the-fly selection: for each row b the candidate argmax_k q_bk. q: (B, K); candidates (B, K, A).
struct OtfPick {
  torch::Tensor actions;  // (B, A)
  torch::Tensor index;    // (B) int64, the chosen k
};
OtfPick otf_select(const torch::Tensor& q, const torch::Tensor& candidates);

// y_b = r_b + discount_b · min_e next_q_eb. returns, discount: (B); next_q: (k, B) (no gradient).
torch::Tensor expo_td_target(const torch::Tensor& returns, const torch::Tensor& discount, const torch::Tensor& next_q);

// mean_{e,b} (q_eb − y_b)². q: (E, B); target: (B) without gradient.
torch::Tensor ensemble_critic_loss(const torch::Tensor& q, const torch::Tensor& target);

// mean_b (α logp_b − mean_e q_eb). logp: (B); q: (E, B).
torch::Tensor edit_policy_loss(const torch::Tensor& logp, const torch::Tensor& q, double alpha);

std::unique_ptr<Trainer> make_expo_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline

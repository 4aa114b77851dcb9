// A2PR: Adaptive Advantage-guided Policy Regularization (Liu et al. 2024, arXiv:2405.19909), as the
// authors' code (github.com/ltlhuuu/A2PR, A2PR.py) computes it, on a TD3+BC base:
//   * a state value V trained toward t = min(R + γ' min Q̄(s', ã'), R + γ' min Q(s', ã')) (γ' = γ(1−d),
//     ã' the smoothed target action), squared error;
//   * a VAE on (s, a) whose reconstruction counts only rows with positive advantage Q1(s, a) > V(s):
//     L_vae = mean_{b,i} w·1[Q1(s_b,a_b) > V(s_b)] (â_{b,i} − a_{b,i})² + ½ KL,
//     KL = −½ mean_{b,l} (1 + log σ² − μ² − σ²)                 (w = vae_weight);
//   * the actor regularised toward the better of the dataset action a and the VAE's reconstruction
//     of π(s), ã = VAE(s, π(s)), by advantage A(s, ·) = Q1(s, ·) − V(s):
//     target_b = ã_b if A(s_b, ã_b) >= A(s_b, a_b) else a_b,
//     weight_b = mask · (1[Q1(s_b, ã_b) >= V(s_b)] + 1[Q1(s_b, a_b) > V(s_b)]),
//     L_π = −λ mean_b Q1(s_b, π(s_b)) + mean_{b,i} weight_b (π(s_b)_i − target_{b,i})², λ = α / mean|Q1(s, π(s))|.
// As in the authors' code the reconstruction ã keeps its graph: the regulariser's gradient also flows
// through the VAE into π (the VAE itself is stepped only by its own loss). Defaults are the code's
// (α = 2.5, mask = 1, vae_weight = 1, Adam 3e-4 for actor, critics and value and 1e-3 for the VAE,
// 256×3 actor, 256×4 critics and value, 750-750 VAE with latent 2·A, log σ clamped to [−4, 15],
// latent samples clipped to [−0.5, 0.5]); its README uses mask 0.4 and γ 0.995 on hopper-medium.
// Online (offline.online_steps, the same losses go on) it explores as TD3:
// clip(π(s) + N(0, (0.1 · scale)²), low, high) (td3_offline_run.h).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <utility>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

// The [a2pr] section.
struct A2prOptions {
  double learning_rate = 3e-4;      // actor, critics and value (Adam)
  double vae_learning_rate = 1e-3;  // the VAE (Adam's default, as the authors' code)
  double tau = 0.005;
  double policy_noise = 0.2;  // times the action scale
  double noise_clip = 0.5;    // times the action scale
  int policy_frequency = 2;
  double alpha = 2.5;       // λ = α / mean|Q|
  double mask = 1.0;        // scale of the advantage indicators in the actor's regulariser
  double vae_weight = 1.0;  // scale of the VAE's advantage-filtered reconstruction
  double kl_weight = 0.5;   // the VAE's KL coefficient
  double exploration_noise = 0.1;  // online phase: TD3's behaviour noise σ (times the action scale)
  std::vector<int64_t> actor_hidden{256, 256, 256};
  std::vector<int64_t> critic_hidden{256, 256, 256, 256};  // also the value network's
  std::vector<int64_t> vae_hidden{750, 750};
  int latent_factor = 2;  // latent width = latent_factor · A

  void bind(core::Binder& b);
};

// BCQ's conditional VAE (Fujimoto et al. 2019) as A2PR uses it: encoder (s, a) -> μ, log σ
// (clamped to [−4, 15]); decoder (s, z) -> max_action · tanh(·); sampling draws z ~ N(0, I)
// clipped to [−0.5, 0.5].
class A2prVaeImpl : public torch::nn::Module {
 public:
  A2prVaeImpl(int64_t obs_dim, int64_t act_dim, int64_t latent_dim, const std::vector<int64_t>& hidden,
              torch::Tensor scale, torch::Tensor bias);
  struct Out {
    torch::Tensor recon;  // (B, A)
    torch::Tensor mean;   // (B, L)
    torch::Tensor std;    // (B, L)
  };
  // eps: (B, L) standard normal draws for z = μ + σ ε.
  Out forward(const torch::Tensor& obs, const torch::Tensor& act, const torch::Tensor& eps);
  // obs (B, S), z (B, L) -> (B, A) inside the action box
  torch::Tensor decode(const torch::Tensor& obs, const torch::Tensor& z);
  torch::nn::Sequential encoder{nullptr}, decoder{nullptr};
  torch::nn::Linear mean_head{nullptr}, log_std_head{nullptr};
  torch::Tensor scale, bias;  // (A) buffers: (high − low)/2, (high + low)/2
  int64_t latent_dim = 0;
};
TORCH_MODULE(A2prVae);

// t = min(R + γ' min(Q̄1, Q̄2)(s', ã'), R + γ' min(Q1, Q2)(s', ã')). All (B).
torch::Tensor a2pr_value_target(const torch::Tensor& returns, const torch::Tensor& discount,
                                const torch::Tensor& next_q_target_min, const torch::Tensor& next_q_online_min);

struct A2prVaeLoss {
  torch::Tensor loss, recon, kl;  // ()
};
// recon, action: (B, A); mean, std: (B, L); q_data = Q1(s, a), v = V(s): (B) (compared only).
A2prVaeLoss a2pr_vae_loss(const torch::Tensor& recon, const torch::Tensor& action, const torch::Tensor& mean,
                          const torch::Tensor& std, const torch::Tensor& q_data, const torch::Tensor& v,
                          double vae_weight, double kl_weight);

struct A2prActorLoss {
  torch::Tensor loss;     // ()
  torch::Tensor lambda;   // () α / mean|Q1(s, π(s))| (no grad)
  torch::Tensor bc_loss;  // () the advantage-guided regulariser
  torch::Tensor vae_chosen;  // () fraction of rows whose target is the VAE's ã
  torch::Tensor weight_mean;  // () mean regulariser weight
};
// q_pi = Q1(s, π(s)) (B); pi (B, A); recon_pi = ã = VAE(s, π(s)) (B, A); action (B, A);
// q_recon = Q1(s, ã), q_data = Q1(s, a), v = V(s) (B) (compared only).
A2prActorLoss a2pr_actor_loss(const torch::Tensor& q_pi, const torch::Tensor& pi, const torch::Tensor& recon_pi,
                              const torch::Tensor& action, const torch::Tensor& q_recon, const torch::Tensor& q_data,
                              const torch::Tensor& v, double alpha, double mask);

// The `a2pr` trainer (OfflineRun; observations normalised as the authors' code does).
std::unique_ptr<Trainer> make_a2pr_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline

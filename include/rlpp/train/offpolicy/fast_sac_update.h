// SAC's gradient steps without autograd (sac.backend = "fast"): the actor and the twin critics as
// FastReluMlp over flat parameter buffers, the losses' gradients derived by hand, one fused Adam
// (nn::FastAdam) per optimizer over its flat buffer, and Polyak averaging over the flat target
// buffer. Same networks, losses, update order and optimizer formulas as the LibTorch path of
// sac.cpp (the reference); tests/train/offpolicy/fast_path_test.cpp compares the two after
// several steps on the same batches and noise.
//
// Parameter layout:
//   actor   obs_dim -> hidden... -> 2A: the trunk's Linear layers, then the mean and log-std heads
//           as one Linear whose rows are [mean (A); log_std (A)] (W (2A, H) then b (2A))
//   critics qf1 | qf2, each (obs_dim + A) -> hidden... -> 1 on [s, a]; targets in the same layout
//
// The hand-derived gradients (u = μ + σ ε, y = tanh u, a = y·scale + bias, log σ = lo + ½(hi − lo)
// (tanh r + 1) from the raw head r, and log π = Σ_i [−½ε_i² − log σ_i − ½ log 2π − log(scale_i
// sech² u_i + 1e−6)]):
//   critics  L = mean_b w_b (Q1_b − y_b)² + mean_b w_b (Q2_b − y_b)²,  dL/dQk_b = 2 w_b (Qk_b − y_b)/B
//   actor    L = mean_b (α log π_b − min(Q1_b, Q2_b)); dL/dQk_b = −1/B on the smaller (½ each on a tie)
//            d log π/du_i = 2 scale_i tanh(u_i) sech² u_i / (scale_i sech² u_i + 1e−6)
//            dL/du_i = (α/B) d log π/du_i + Σ_k dL/dQk · dQk/da_i · scale_i (1 − y_i²)
//            dL/dμ_i = dL/du_i;  dL/dlog σ_i = dL/du_i · σ_i ε_i − α/B
//            dL/dr_i = dL/dlog σ_i · ½(hi − lo)(1 − tanh² r_i)
//   α        L = mean_b(−exp(log α)(log π_b + H)),  dL/dlog α = L
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/nn/fast_adam.h"
#include "rlpp/train/offpolicy/fast_mlp.h"
#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train {
class CheckpointWriter;
class CheckpointReader;
}  // namespace rlpp::train

namespace rlpp::train::offpolicy {

struct FastSacConfig {
  int64_t obs_dim = 0, act_dim = 0;   // observation width, A
  std::vector<int64_t> hidden{256, 256};
  std::vector<float> scale, bias;      // (A) action box: (high − low)/2, (high + low)/2
  double policy_lr = 3e-4, q_lr = 1e-3;  // the actor's; the critics' and the temperature's
  // 2 or more: the two critics' forward and backward passes run on two threads (each critic's
  // arithmetic stays on one thread, so the results are the same bits as with 1)
  int threads = 1;
};

// One sampled batch as plain arrays (ReplaySample's tensors' data). B rows.
struct SacBatchView {
  int64_t size = 0;                  // B
  const float* obs = nullptr;        // (B, obs_dim)
  const float* actions = nullptr;    // (B, A)
  const float* returns = nullptr;    // (B)
  const float* next_obs = nullptr;   // (B, obs_dim)
  const float* discount = nullptr;   // (B)
  const float* weights = nullptr;    // (B)
};

struct SacCriticStats {
  double qf1_values = 0, qf2_values = 0;  // mean Q1, Q2 of the batch (before the step)
  double qf1_loss = 0, qf2_loss = 0, qf_loss = 0;
};

class FastSac {
 public:
  explicit FastSac(const FastSacConfig& config);

  // LibTorch modules <-> flat buffers (the modules keep the checkpoint format and the initial weights).
  void copy_from(GaussianActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, ContinuousQ& qf1_target,
                 ContinuousQ& qf2_target);
  void copy_to(GaussianActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, ContinuousQ& qf1_target,
               ContinuousQ& qf2_target) const;

  // obs (n, obs_dim) -> actions (n, A): the squashed sample with noise eps (n, A), or the mean
  // action tanh(μ)·scale + bias when eps is null.
  void act(const float* obs, int64_t n, const float* eps, float* actions);

  // The critics' step: target y from the target critics and a' ~ π(·|s') with noise next_eps
  // (B, A) at temperature alpha, then one Adam step of both critics. td_abs (B): ½(|Q1 − y| + |Q2 − y|).
  SacCriticStats critic_step(const SacBatchView& batch, const float* next_eps, double alpha, float* td_abs);
  // One actor step on obs (m, obs_dim) with noise eps (m, A). Returns the actor loss.
  double actor_step(const float* obs, int64_t m, const float* eps, double alpha);
  // One temperature step with log π from noise eps (m, A). Returns the loss; log_alpha() moves.
  double alpha_step(const float* obs, int64_t m, const float* eps, double target_entropy);
  // θ' ← τ θ + (1 − τ) θ' over both critics.
  void polyak(double tau);

  float log_alpha() const { return log_alpha_[0]; }
  void set_log_alpha(float v) { log_alpha_[0] = v; }

  // The flat buffers (layouts above) and the gradients of the last steps.
  const nn::AlignedFloats& actor_params() const { return actor_params_; }
  const nn::AlignedFloats& critic_params() const { return critic_params_; }
  const nn::AlignedFloats& critic_target_params() const { return critic_target_; }
  const nn::AlignedFloats& actor_grad() const { return actor_grad_; }
  const nn::AlignedFloats& critic_grad() const { return critic_grad_; }
  float log_alpha_grad() const { return log_alpha_grad_[0]; }
  int64_t critic_params_each() const { return critic_net_[0].num_params(); }  // Pq

  // The three optimizers' moments and counters under "<prefix>/...".
  void save_optimizers(CheckpointWriter& w, const std::string& prefix);
  void load_optimizers(CheckpointReader& r, const std::string& prefix);

 private:
  // Actor forward on obs (m rows) and the squashed sample with eps: fills a_ (m, A), logp_ (m)
  // and what the backward needs.
  void sample(const float* obs, int64_t m, const float* eps);
  // Fills critic k's input with [s, a] rows and runs it on params. Returns Q (m).
  const float* critic_forward(int k, const float* params, const float* obs, const float* act, int64_t m);
  // f(0) and f(1), on two threads when config_.threads > 1.
  template <class F>
  void for_both_critics(F&& f);

  FastSacConfig config_;
  int64_t A_ = 0, obs_dim_ = 0;
  FastReluMlp actor_net_, critic_net_[2];

  nn::AlignedFloats actor_params_, actor_grad_;          // (Pa)
  nn::AlignedFloats critic_params_, critic_grad_;        // (2 Pq) qf1 | qf2
  nn::AlignedFloats critic_target_;                      // (2 Pq)
  nn::AlignedFloats log_alpha_, log_alpha_grad_;         // (1)
  nn::FastAdam actor_adam_, critic_adam_, alpha_adam_;

  // Per-step scratch, grown to the largest batch.
  nn::AlignedFloats eps_, a_, logp_;        // (m, A), (m, A), (m)
  nn::AlignedFloats tanh_r_, sd_, y_, u_;   // (m, A): tanh of the raw log-std head, σ, tanh u, u
  nn::AlignedFloats q_[2], target_;         // (m) Q1, Q2; the critics' target y
  nn::AlignedFloats tq_[2];                 // (m) target critics' Q1', Q2'
  double loss_[2] = {0, 0}, values_[2] = {0, 0};  // per-critic sums of the last critic step
  nn::AlignedFloats dq_[2];                 // (m) dL/dQk
  nn::AlignedFloats dx_[2];                 // (m, obs_dim + A) dL/d[s, a] of each critic
  nn::AlignedFloats d_actor_out_;           // (m, 2A)
};

}  // namespace rlpp::train::offpolicy

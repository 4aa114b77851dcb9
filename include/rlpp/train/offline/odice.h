// ODICE: DICE with the orthogonal-gradient update (Mao et al. 2024, arXiv:2402.00348), as the
// authors' code (github.com/maoliyuan/ODICE-Pytorch, odice.py) computes it. The value objective
// (Pearson χ² by default) is
//   min_V (1 − λ) E_{s∼D}[V(s)] + λ E_{(s,a,s')∼D}[f*(R + γ' V(s') − V(s))],   γ' = γ(1 − d),
// where f* is the convex conjugate of the f-divergence:
//   Pearson χ² (f(x) = (x − 1)²):  ω = max(r/2 + 1, 0),  f*(r) = r ω − (ω − 1)²;   (f')⁻¹(r) = max(r, 0)
//   reverse KL (f(x) = x log x):   f*(r) = exp(r − 1);                            (f')⁻¹(r) = exp(r − 1)
// Its gradient splits in a forward part (through V(s), with V̄(s') of the target network) and a
// backward part (through V(s'), with V̄(s)):
//   g_f = ∇ mean λ f*(R + γ' V̄(s') − V(s)),  g_b = ∇ mean λ η f*(R + γ' V(s') − V̄(s)).
// The orthogonal-gradient update steps on
//   g = ∇ mean (1 − λ) V(s) + g_f + (g_b − (g_f·g_b / max(g_f·g_f, 1e-10)) g_f),
// i.e. g_b projected onto the complement of g_f; "true" steps on the plain sum (both residual
// ends online) and "semi" on g_f alone. The policy is extracted by weighted behaviour cloning:
//   L_π = −mean_b w_b log π(a_b | s_b),  w = min((f')⁻¹(R + γ' V̄(s') − V(s)), 100) (no grad).
// With twin value heads (the code's locomotion default) V(s) and V(s') are both heads (K = 2, the
// means run over both), V̄ is the minimum of the target heads. Defaults (appendix D / the code's
// configs/offline_RL.yaml and main_odice_rl.py): λ = 0.6, η = 1, Pearson χ², Adam 2e-4 for value
// and policy with policy weight decay 1e-4, τ = 0.005, twin V 256-256 with LayerNorm, a Gaussian
// policy 1024-1024 with a state-independent log σ (clamped to [−5, 2]). Acting: the mean, clipped
// to the box. Online (offline.online_steps, the same losses go on) it explores with a sample of
// the Gaussian clipped to the box, a = clip(μ(s) + σ ε, low, high), ε ~ N(0, I) from the run's
// generator (the code's act(deterministic=False), as iql explores).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

// The [odice] section.
struct OdiceOptions {
  double lambda = 0.6;  // λ: weight of the f* term against (1 − λ) E[V]
  double eta = 1.0;     // η: weight of the backward gradient
  std::string f_divergence = "pearson_chi2";  // or "reverse_kl"
  std::string gradient = "orthogonal";        // "orthogonal", "true" or "semi"
  double value_learning_rate = 2e-4;
  double policy_learning_rate = 2e-4;
  double policy_weight_decay = 1e-4;
  double tau = 0.005;  // Polyak coefficient of the target value network
  double max_weight = 100.0;  // clip of the behaviour-cloning weights
  bool twin_v = true;
  bool layer_norm = true;  // LayerNorm after each hidden layer of the value heads
  std::vector<int64_t> value_hidden{256, 256};
  std::vector<int64_t> policy_hidden{1024, 1024};

  void bind(core::Binder& b);
};

// f*(r) elementwise (f: "pearson_chi2" or "reverse_kl").
torch::Tensor odice_f_star(const torch::Tensor& r, const std::string& f);
// (f')⁻¹(r) elementwise: the density ratio the residual implies.
torch::Tensor odice_f_prime_inverse(const torch::Tensor& r, const std::string& f);

// R + γ' next_v − v. returns, discount: (B); next_v, v: (B) or (K, B) -> broadcast shape.
torch::Tensor odice_residual(const torch::Tensor& returns, const torch::Tensor& discount, const torch::Tensor& next_v,
                             const torch::Tensor& v);

// The three losses whose gradients the update combines. v, next_v: (K, B) online heads at s and s';
// target_v, target_next_v: (B) V̄(s), V̄(s') (no grad).
struct OdiceValueLosses {
  torch::Tensor linear;    // () mean (1 − λ) V(s)
  torch::Tensor forward;   // () mean λ f*(R + γ' V̄(s') − V(s))
  torch::Tensor backward;  // () mean λ η f*(R + γ' V(s') − V̄(s))
  torch::Tensor true_dual; // () mean λ f*(R + γ' V(s') − V(s)) (the "true" gradient's term)
  torch::Tensor forward_residual;  // (K, B) R + γ' V̄(s') − V(s), detached: the policy's weights
};
OdiceValueLosses odice_value_losses(const torch::Tensor& returns, const torch::Tensor& discount,
                                    const torch::Tensor& v, const torch::Tensor& next_v,
                                    const torch::Tensor& target_v, const torch::Tensor& target_next_v,
                                    double lambda, double eta, const std::string& f);

// g_f + g_b − (g_f·g_b / max(g_f·g_f, 1e-10)) g_f over the parameters' concatenated gradients.
// Returns the combined gradient per parameter (shapes of g_f's tensors) and writes the
// coefficient g_f·g_b / max(‖g_f‖², 1e-10) to *parallel (if given).
std::vector<torch::Tensor> odice_orthogonal_combine(const std::vector<torch::Tensor>& g_forward,
                                                    const std::vector<torch::Tensor>& g_backward,
                                                    double* parallel = nullptr);

// Sets params' .grad to the update's gradient for `gradient` ("orthogonal", "true", "semi"):
// orthogonal: ∇linear + combine(∇forward, ∇backward); true: ∇(linear + true_dual); semi:
// ∇(linear + forward). Returns the parallel coefficient (0 unless orthogonal).
double odice_value_gradient(const std::vector<torch::Tensor>& params, const OdiceValueLosses& losses,
                            const std::string& gradient);

// −mean(w · logp) with w = min((f')⁻¹(residual), max_weight) averaged over the K heads' residuals.
// logp: (B); forward_residual: (K, B) or (B), no grad.
torch::Tensor odice_policy_loss(const torch::Tensor& logp, const torch::Tensor& forward_residual, const std::string& f,
                                double max_weight);

// The `odice` trainer (OfflineRun; rewards scaled by 1000 / (max − min episode return), raw
// observations, as the authors' locomotion setting).
std::unique_ptr<Trainer> make_odice_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline

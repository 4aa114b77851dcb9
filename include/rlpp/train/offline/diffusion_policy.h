// A state-conditioned DDPM over actions (Ho et al. 2020, arXiv 2006.11239) as IDQL's and EXPO's
// base policy (Hansen-Estruch et al. 2023, arXiv 2304.10573; Dong et al. 2025, arXiv 2507.07986):
//   * the VP noise schedule of T steps: β_t = 1 − exp(−b_min/T − ½ (b_max − b_min)(2t − 1)/T²),
//     t = 1..T, b_min = 0.1, b_max = 10; α_t = 1 − β_t, ᾱ_t = Π_{i≤t} α_i;
//   * the noise predictor ε̂(a_t, s, t): t -> learnable Fourier features [cos 2πWt, sin 2πWt]
//     (W (F/2, 1) ~ N(0, 0.2²)) -> MLP (2F, swish, 2F) = c; [a_t, s, c] -> Linear(H) -> K residual
//     blocks x + Linear(swish(Linear₄ₕ(LN(x)))) -> swish -> Linear(A);
//   * training (imitation only): L = mean_b Σ_k (ε̂(√ᾱ_t a + √(1 − ᾱ_t) ε, s, t) − ε)²_k,
//     t ~ U{0..T−1}, ε ~ N(0, I);
//   * sampling: a_T ~ N(0, I), then for t = T−1..0
//     a_{t−1} = (a_t − (1 − α_t)/√(1 − ᾱ_t) ε̂) / √α_t + 1(t > 0) √β_t z, z ~ N(0, I), clipped to
//     [−1, 1] after every step (the code's ddpm_sampler with clip_sampler).
// Actions live in [−1, 1]^A here: the trainer maps the box onto it. Every random draw is an
// argument (noise tensors), so the caller's generator owns all randomness.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace rlpp::train::offline {

// The VP schedule of T steps, each (T), index t = 0..T−1 for the paper's t = 1..T.
struct DiffusionSchedule {
  torch::Tensor betas, alphas, alpha_hats;  // (T) float32
  int64_t steps() const { return betas.size(0); }
};
DiffusionSchedule vp_schedule(int64_t T);

// √ᾱ_t a0 + √(1 − ᾱ_t) ε. a0, eps: (B, A); alpha_hat: (B) (ᾱ at each row's t).
torch::Tensor ddpm_noisy_actions(const torch::Tensor& a0, const torch::Tensor& eps, const torch::Tensor& alpha_hat);

// The denoising loss: mean_b Σ_k (ε̂_bk − ε_bk)². eps_pred, eps: (B, A).
torch::Tensor diffusion_loss(const torch::Tensor& eps_pred, const torch::Tensor& eps);

// One reverse step from index t (0 = the last):
//   x' = clip((x − (1 − α_t)/√(1 − ᾱ_t) ε̂)/√α_t + 1(t > 0) √β_t z, −1, 1).
// x, eps_pred, z: (n, A).
torch::Tensor ddpm_reverse_step(const torch::Tensor& x, const torch::Tensor& eps_pred, const torch::Tensor& z,
                                const DiffusionSchedule& s, int64_t t);

// Learnable Fourier features of the step: (B, 1) -> (B, 2·(dim/2)) = [cos 2π t Wᵀ, sin 2π t Wᵀ].
class FourierFeaturesImpl : public torch::nn::Module {
 public:
  explicit FourierFeaturesImpl(int64_t dim);
  torch::Tensor forward(const torch::Tensor& t);
  torch::Tensor kernel;  // (dim/2, 1)
};
TORCH_MODULE(FourierFeatures);

// x + Linear_H(swish(Linear_4H(LN(x)))) (IDQL's MLPResNetBlock without dropout).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t width, bool layer_norm);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear up{nullptr}, down{nullptr};
  bool use_norm;
};
TORCH_MODULE(ResidualBlock);

struct DiffusionNetOptions {
  int64_t time_dim = 128;  // F: Fourier features of t; the condition MLP is 2F wide
  int64_t hidden = 256;    // H: width of the residual trunk
  int64_t blocks = 3;      // K residual blocks
  bool layer_norm = true;
};

// ε̂(a_t, s, t). obs (B, obs_dim), noisy (B, A), t (B, 1) float step indices -> (B, A).
class DiffusionNetImpl : public torch::nn::Module {
 public:
  DiffusionNetImpl(int64_t obs_dim, int64_t act_dim, const DiffusionNetOptions& o);
  torch::Tensor forward(const torch::Tensor& obs, const torch::Tensor& noisy, const torch::Tensor& t);
  FourierFeatures time{nullptr};
  torch::nn::Linear cond1{nullptr}, cond2{nullptr}, in{nullptr}, out{nullptr};
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(DiffusionNet);

// The full reverse chain: x_T = noise[0], then step t = T−1..0 with z = noise[T − t].
// obs (n, obs_dim); noise (T + 1, n, A) standard normals -> actions (n, A) in [−1, 1].
torch::Tensor ddpm_sample(DiffusionNet& net, const torch::Tensor& obs, const DiffusionSchedule& s,
                          const torch::Tensor& noise);

}  // namespace rlpp::train::offline

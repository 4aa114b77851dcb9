#include "rlpp/train/offline/diffusion_policy.h"

#include <cmath>

namespace rlpp::train::offline {

DiffusionSchedule vp_schedule(int64_t T) {
  constexpr double b_min = 0.1, b_max = 10.0;
  std::vector<float> betas, alphas, alpha_hats;
  double prod = 1.0;
  for (int64_t i = 1; i <= T; ++i) {
    const double t = static_cast<double>(i), n = static_cast<double>(T);
    const double alpha = std::exp(-b_min / n - 0.5 * (b_max - b_min) * (2.0 * t - 1.0) / (n * n));
    prod *= alpha;
    betas.push_back(static_cast<float>(1.0 - alpha));
    alphas.push_back(static_cast<float>(alpha));
    alpha_hats.push_back(static_cast<float>(prod));
  }
  return {torch::tensor(betas), torch::tensor(alphas), torch::tensor(alpha_hats)};
}

torch::Tensor ddpm_noisy_actions(const torch::Tensor& a0, const torch::Tensor& eps, const torch::Tensor& alpha_hat) {
  const torch::Tensor ah = alpha_hat.unsqueeze(1);  // (B, 1)
  return torch::sqrt(ah) * a0 + torch::sqrt(1.0 - ah) * eps;
}

torch::Tensor diffusion_loss(const torch::Tensor& eps_pred, const torch::Tensor& eps) {
  return (eps_pred - eps).pow(2).sum(-1).mean();
}

torch::Tensor ddpm_reverse_step(const torch::Tensor& x, const torch::Tensor& eps_pred, const torch::Tensor& z,
                                const DiffusionSchedule& s, int64_t t) {
  const double alpha = s.alphas[t].item<double>(), alpha_hat = s.alpha_hats[t].item<double>();
  torch::Tensor next = (x - ((1.0 - alpha) / std::sqrt(1.0 - alpha_hat)) * eps_pred) / std::sqrt(alpha);
  if (t > 0) next = next + std::sqrt(s.betas[t].item<double>()) * z;
  return next.clamp(-1.0, 1.0);
}

FourierFeaturesImpl::FourierFeaturesImpl(int64_t dim) {
  kernel = register_parameter("kernel", torch::randn({dim / 2, 1}) * 0.2);
}

torch::Tensor FourierFeaturesImpl::forward(const torch::Tensor& t) {
  const torch::Tensor f = 2.0 * M_PI * torch::matmul(t, kernel.t());  // (B, dim/2)
  return torch::cat({torch::cos(f), torch::sin(f)}, -1);
}

ResidualBlockImpl::ResidualBlockImpl(int64_t width, bool layer_norm) : use_norm(layer_norm) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6)));
  up = register_module("up", torch::nn::Linear(width, 4 * width));
  down = register_module("down", torch::nn::Linear(4 * width, width));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  const torch::Tensor h = use_norm ? norm->forward(x) : x;
  return x + down->forward(torch::silu(up->forward(h)));
}

DiffusionNetImpl::DiffusionNetImpl(int64_t obs_dim, int64_t act_dim, const DiffusionNetOptions& o) {
  const int64_t f = 2 * (o.time_dim / 2);
  time = register_module("time", FourierFeatures(o.time_dim));
  cond1 = register_module("cond1", torch::nn::Linear(f, 2 * o.time_dim));
  cond2 = register_module("cond2", torch::nn::Linear(2 * o.time_dim, 2 * o.time_dim));
  in = register_module("trunk_in", torch::nn::Linear(act_dim + obs_dim + 2 * o.time_dim, o.hidden));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t k = 0; k < o.blocks; ++k) blocks->push_back(ResidualBlock(o.hidden, o.layer_norm));
  out = register_module("out", torch::nn::Linear(o.hidden, act_dim));
}

torch::Tensor DiffusionNetImpl::forward(const torch::Tensor& obs, const torch::Tensor& noisy, const torch::Tensor& t) {
  const torch::Tensor c = cond2->forward(torch::silu(cond1->forward(time->forward(t))));  // (B, 2F)
  torch::Tensor x = in->forward(torch::cat({noisy, obs, c}, -1));
  for (const auto& b : *blocks) x = b->as<ResidualBlock>()->forward(x);
  return out->forward(torch::silu(x));
}

torch::Tensor ddpm_sample(DiffusionNet& net, const torch::Tensor& obs, const DiffusionSchedule& s,
                          const torch::Tensor& noise) {
  const int64_t T = s.steps(), n = obs.size(0);
  torch::Tensor x = noise[0];
  for (int64_t t = T - 1; t >= 0; --t) {
    const torch::Tensor tt = torch::full({n, 1}, static_cast<float>(t));
    x = ddpm_reverse_step(x, net->forward(obs, x, tt), noise[T - t], s, t);
  }
  return x;
}

}  // namespace rlpp::train::offline

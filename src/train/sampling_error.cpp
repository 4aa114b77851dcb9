#include "rlpp/train/sampling_error.h"

#include <cmath>
#include <vector>

#include "rlpp/algo/props.h"
#include "rlpp/nn/fast_adam.h"
#include "rlpp/train/props_trainer.h"

namespace rlpp::train {
namespace {

// The actor's last Linear (the policy head): its last child, or the one before a final Tanh
// (MlpPolicyOptions::mean_tanh).
size_t head_index(nn::ActorCritic& theta) {
  auto& layers = *theta->actor;
  const size_t last = layers.size() - 1;
  return layers[last]->as<torch::nn::LinearImpl>() != nullptr ? last : last - 1;
}

bool tanh_on_head(nn::ActorCritic& theta) { return head_index(theta) + 1 < theta->actor->size(); }

// h = actor[0 .. head-1](obs): the frozen features. (B, obs_dim) -> (B, F)
torch::Tensor features(nn::ActorCritic& theta, const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  auto& layers = *theta->actor;
  torch::Tensor h = obs;
  const auto head = static_cast<std::ptrdiff_t>(head_index(theta));
  for (auto it = layers.begin(); it != layers.begin() + head; ++it) h = it->forward(h);
  return h;
}

torch::nn::LinearImpl& head(nn::ActorCritic& theta) {
  auto& layers = *theta->actor;
  return *layers.ptr<torch::nn::LinearImpl>(head_index(theta));
}

constexpr double kLog2Pi = 1.8378770664093453;  // log(2π)

double gaussian_by_statistics(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                              int steps, double lr) {
  const torch::Tensor h = features(theta, obs).to(torch::kFloat32).contiguous();  // (B, F-1)
  const torch::Tensor act = actions.to(torch::kFloat32).contiguous();             // (B, A)
  const int64_t B = h.size(0), F = h.size(1) + 1, A = act.size(1);
  // The statistics in double, summed in row order (deterministic, unlike a threaded GEMM).
  std::vector<double> G(static_cast<size_t>(F * F), 0.0), c(static_cast<size_t>(A * F), 0.0), s(static_cast<size_t>(A), 0.0);
  std::vector<double> x(static_cast<size_t>(F));
  for (int64_t i = 0; i < B; ++i) {
    const float* hi = h.data_ptr<float>() + i * (F - 1);
    const float* ai = act.data_ptr<float>() + i * A;
    for (int64_t f = 0; f + 1 < F; ++f) x[f] = hi[f];
    x[F - 1] = 1.0;
    for (int64_t r = 0; r < F; ++r) {
      for (int64_t k = r; k < F; ++k) G[r * F + k] += x[r] * x[k];  // upper triangle
    }
    for (int64_t j = 0; j < A; ++j) {
      for (int64_t r = 0; r < F; ++r) c[j * F + r] += ai[j] * x[r];
      s[j] += static_cast<double>(ai[j]) * ai[j];
    }
  }
  for (int64_t r = 0; r < F; ++r) {
    for (int64_t k = 0; k < r; ++k) G[r * F + k] = G[k * F + r];
  }

  // Parameters in one float block, like LibTorch's float tensors: w_j = [W_j, b_j] (A, F), log σ (A).
  // Aligned, so that FastAdam's vector loop splits the block the same way on every call.
  nn::AlignedFloats p(static_cast<size_t>(A * F + A)), grad(p.size());
  {
    torch::NoGradGuard no_grad;
    auto& lin = head(theta);
    const torch::Tensor W = lin.weight.to(torch::kFloat32).contiguous(), b = lin.bias.to(torch::kFloat32).contiguous();
    const torch::Tensor ls = theta->log_std.to(torch::kFloat32).contiguous();
    for (int64_t j = 0; j < A; ++j) {
      for (int64_t f = 0; f + 1 < F; ++f) p[j * F + f] = W.data_ptr<float>()[j * (F - 1) + f];
      p[j * F + F - 1] = b.data_ptr<float>()[j];
      p[A * F + j] = ls.data_ptr<float>()[j];
    }
  }
  std::vector<double> Gw(static_cast<size_t>(F));
  // SSE_j at the current w_j; fills Gw = G w_j.
  auto sse = [&](int64_t j) {
    const float* w = p.data() + j * F;
    double wc = 0, wGw = 0;
    for (int64_t r = 0; r < F; ++r) {
      double acc = 0;
      for (int64_t k = 0; k < F; ++k) acc += G[r * F + k] * w[k];
      Gw[r] = acc;
      wc += w[r] * c[j * F + r];
      wGw += w[r] * acc;
    }
    return s[j] - 2.0 * wc + wGw;
  };
  // Σ_j mean_i log π(a_ij | s_i) under the current parameters.
  auto mean_log_prob = [&]() {
    double total = 0;
    for (int64_t j = 0; j < A; ++j) {
      const double ls = p[A * F + j];
      total += -0.5 * std::exp(-2.0 * ls) * sse(j) / static_cast<double>(B) - ls - 0.5 * kLog2Pi;
    }
    return total;
  };

  const double logp_theta = mean_log_prob();
  nn::FastAdam adam(static_cast<int64_t>(p.size()), 1e-8);
  for (int step = 0; step < steps; ++step) {
    for (int64_t j = 0; j < A; ++j) {
      const double inv_var = std::exp(-2.0 * static_cast<double>(p[A * F + j]));
      const double e = sse(j);
      for (int64_t r = 0; r < F; ++r) grad[j * F + r] = static_cast<float>(inv_var * (Gw[r] - c[j * F + r]) / B);
      grad[A * F + j] = static_cast<float>(1.0 - inv_var * e / B);
    }
    adam.clip_and_step(p.data(), grad.data(), /*max_grad_norm=*/INFINITY, lr);
  }
  return mean_log_prob() - logp_theta;
}

}  // namespace

double measure_sampling_error(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                              int steps, double lr) {
  // the statistics need a mean linear in the fitted head: a tanh'd mean takes the autograd fit
  if (theta->discrete() || tanh_on_head(theta)) return measure_sampling_error_autograd(theta, obs, actions, steps, lr);
  return gaussian_by_statistics(theta, obs, actions, steps, lr);
}

double measure_sampling_error_autograd(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                                       int steps, double lr) {
  const torch::Tensor h = features(theta, obs);  // (B, F-1)
  torch::Tensor weight, bias, log_std, logp_theta;
  {
    torch::NoGradGuard no_grad;
    auto& lin = head(theta);
    weight = lin.weight.detach().clone().set_requires_grad(true);
    bias = lin.bias.detach().clone().set_requires_grad(true);
    if (!theta->discrete()) log_std = theta->log_std.detach().clone().set_requires_grad(true);
    logp_theta = policy_log_prob(theta, obs, actions);
  }
  const bool squash = !theta->discrete() && tanh_on_head(theta);  // mean = tanh(head)
  auto log_prob = [&]() {
    torch::Tensor out = torch::nn::functional::linear(h, weight, bias);  // (B, A)
    if (squash) out = torch::tanh(out);
    if (theta->discrete()) {
      const torch::Tensor idx = actions.select(1, 0).to(torch::kInt64).unsqueeze(1);
      return torch::log_softmax(out, -1).gather(1, idx).squeeze(1);
    }
    const torch::Tensor z = (actions - out) * torch::exp(-log_std);
    return (-0.5 * z * z - log_std - 0.5 * kLog2Pi).sum(-1);
  };
  std::vector<torch::Tensor> params = {weight, bias};
  if (log_std.defined()) params.push_back(log_std);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(lr));
  for (int s = 0; s < steps; ++s) {
    adam.zero_grad();
    const torch::Tensor nll = -log_prob().mean();
    nll.backward();
    adam.step();
  }
  torch::NoGradGuard no_grad;
  return algo::sampling_error(log_prob(), logp_theta);
}

}  // namespace rlpp::train

#include "rlpp/train/offpolicy/fast_td3_update.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "rlpp/core/error.h"
#include "rlpp/train/checkpoint.h"

namespace rlpp::train::offpolicy {

namespace {

constexpr double kNoClip = std::numeric_limits<double>::infinity();  // TD3 clips no gradient
constexpr double kAdamEps = 1e-8;                                    // torch::optim::AdamOptions' default

void grow(nn::AlignedFloats& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.assign(static_cast<size_t>(n), 0.0f);
}

void module_to_flat(torch::nn::Module& m, float* flat) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& p : m.parameters()) {
    const torch::Tensor c = p.detach().contiguous();
    std::copy_n(c.data_ptr<float>(), c.numel(), flat);
    flat += c.numel();
  }
}

void flat_to_module(const float* flat, torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor p : m.parameters()) {
    p.copy_(torch::from_blob(const_cast<float*>(flat), p.sizes(), torch::kFloat32));
    flat += p.numel();
  }
}

}  // namespace

FastTd3::FastTd3(const FastTd3Config& config)
    : config_(config),
      A_(config.act_dim),
      obs_dim_(config.obs_dim),
      actor_net_(config.obs_dim, config.hidden, config.act_dim),
      critic_net_{FastReluMlp(config.obs_dim + config.act_dim, config.hidden, 1),
                  FastReluMlp(config.obs_dim + config.act_dim, config.hidden, 1)} {
  for (const auto* v : {&config.scale, &config.bias, &config.low, &config.high}) {
    core::require(static_cast<int64_t>(v->size()) == A_, "FastTd3: the action box needs " + std::to_string(A_) + " components");
  }
  const int64_t pa = actor_net_.num_params(), pq = critic_net_[0].num_params();
  for (auto* v : {&actor_params_, &actor_grad_, &actor_target_}) v->assign(static_cast<size_t>(pa), 0.0f);
  for (auto* v : {&critic_params_, &critic_grad_, &critic_target_}) v->assign(static_cast<size_t>(2 * pq), 0.0f);
  actor_adam_ = nn::FastAdam(pa, kAdamEps);
  critic_adam_ = nn::FastAdam(2 * pq, kAdamEps);
}

void FastTd3::copy_from(DeterministicActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, DeterministicActor& actor_target,
                        ContinuousQ& qf1_target, ContinuousQ& qf2_target) {
  const int64_t pq = critic_params_each();
  module_to_flat(*actor->net, actor_params_.data());
  module_to_flat(*actor_target->net, actor_target_.data());
  module_to_flat(*qf1, critic_params_.data());
  module_to_flat(*qf2, critic_params_.data() + pq);
  module_to_flat(*qf1_target, critic_target_.data());
  module_to_flat(*qf2_target, critic_target_.data() + pq);
}

void FastTd3::copy_to(DeterministicActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, DeterministicActor& actor_target,
                      ContinuousQ& qf1_target, ContinuousQ& qf2_target) const {
  const int64_t pq = critic_params_each();
  flat_to_module(actor_params_.data(), *actor->net);
  flat_to_module(actor_target_.data(), *actor_target->net);
  flat_to_module(critic_params_.data(), *qf1);
  flat_to_module(critic_params_.data() + pq, *qf2);
  flat_to_module(critic_target_.data(), *qf1_target);
  flat_to_module(critic_target_.data() + pq, *qf2_target);
}

void FastTd3::policy(const float* params, const float* obs, int64_t m) {
  grow(mu_, m * A_), grow(y_, m * A_);
  const float* z = actor_net_.forward(params, obs, m);  // (m, A)
  for (int64_t j = 0; j < m; ++j) {
    for (int64_t i = 0; i < A_; ++i) {
      const float y = std::tanh(z[j * A_ + i]);
      y_[j * A_ + i] = y;
      mu_[j * A_ + i] = y * config_.scale[static_cast<size_t>(i)] + config_.bias[static_cast<size_t>(i)];
    }
  }
}

const float* FastTd3::critic_forward(int k, const float* params, const float* obs, const float* act, int64_t m) {
  FastReluMlp& net = critic_net_[k];
  float* x = net.input(m);  // (m, obs_dim + A)
  const int64_t w = obs_dim_ + A_;
  for (int64_t j = 0; j < m; ++j) {
    std::copy_n(obs + j * obs_dim_, obs_dim_, x + j * w);
    std::copy_n(act + j * A_, A_, x + j * w + obs_dim_);
  }
  return net.forward(params, m);
}

void FastTd3::act(const float* obs, int64_t n, const float* eps, float* actions) {
  policy(actor_params_.data(), obs, n);
  const float expl = static_cast<float>(config_.exploration_noise);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t i = 0; i < A_; ++i) {
      const size_t c = static_cast<size_t>(i);
      float a = mu_[j * A_ + i];
      if (eps != nullptr) a = std::max(std::min(a + eps[j * A_ + i] * (config_.scale[c] * expl), config_.high[c]), config_.low[c]);
      actions[j * A_ + i] = a;
    }
  }
}

SacCriticStats FastTd3::critic_step(const SacBatchView& batch, const float* eps, float* td_abs) {
  const int64_t m = batch.size, pq = critic_params_each();
  grow(target_, m), grow(next_a_, m * A_);
  for (int k = 0; k < 2; ++k) grow(q_[k], m), grow(dq_[k], m);
  // ã' = clip(μ'(s') + clip(σ ε, −c, c) · scale, low, high)
  policy(actor_target_.data(), batch.next_obs, m);
  const float sigma = static_cast<float>(config_.policy_noise), clip = static_cast<float>(config_.noise_clip);
  for (int64_t j = 0; j < m; ++j) {
    for (int64_t i = 0; i < A_; ++i) {
      const size_t c = static_cast<size_t>(i);
      const float noise = std::clamp(eps[j * A_ + i] * sigma, -clip, clip) * config_.scale[c];
      next_a_[j * A_ + i] = std::max(std::min(mu_[j * A_ + i] + noise, config_.high[c]), config_.low[c]);
    }
  }
  const float* tq1 = critic_forward(0, critic_target_.data(), batch.next_obs, next_a_.data(), m);
  std::copy_n(tq1, m, target_.data());
  const float* tq2 = critic_forward(1, critic_target_.data() + pq, batch.next_obs, next_a_.data(), m);
  for (int64_t j = 0; j < m; ++j) target_[j] = batch.returns[j] + batch.discount[j] * std::min(target_[j], tq2[j]);
  double loss[2] = {0, 0}, values[2] = {0, 0};
  const float inv_m = 1.0f / static_cast<float>(m);
  for (int k = 0; k < 2; ++k) {
    const float* q = critic_forward(k, critic_params_.data() + k * pq, batch.obs, batch.actions, m);
    std::copy_n(q, m, q_[k].data());
    for (int64_t j = 0; j < m; ++j) {
      const float d = q[j] - target_[j];
      loss[k] += static_cast<double>(batch.weights[j] * d * d);
      values[k] += q[j];
      dq_[k][j] = 2.0f * batch.weights[j] * d * inv_m;
    }
    critic_net_[k].backward(critic_params_.data() + k * pq, dq_[k].data(), critic_grad_.data() + k * pq, nullptr);
  }
  critic_adam_.clip_and_step(critic_params_.data(), critic_grad_.data(), kNoClip, config_.learning_rate);
  for (int64_t j = 0; j < m; ++j) {
    td_abs[j] = 0.5f * (std::abs(q_[0][j] - target_[j]) + std::abs(q_[1][j] - target_[j]));
  }
  SacCriticStats s;
  s.qf1_values = values[0] / static_cast<double>(m);
  s.qf2_values = values[1] / static_cast<double>(m);
  s.qf1_loss = loss[0] / static_cast<double>(m);
  s.qf2_loss = loss[1] / static_cast<double>(m);
  s.qf_loss = s.qf1_loss + s.qf2_loss;
  return s;
}

double FastTd3::actor_step(const float* obs, int64_t m) {
  const int64_t w = obs_dim_ + A_;
  grow(dq_[0], m), grow(dx_, m * w), grow(dz_, m * A_);
  policy(actor_params_.data(), obs, m);
  const float* q1 = critic_forward(0, critic_params_.data(), obs, mu_.data(), m);
  double sum = 0;
  const float inv_m = 1.0f / static_cast<float>(m);
  for (int64_t j = 0; j < m; ++j) {
    sum += q1[j];
    dq_[0][j] = -inv_m;
  }
  critic_net_[0].backward(critic_params_.data(), dq_[0].data(), nullptr, dx_.data());
  for (int64_t j = 0; j < m; ++j) {
    for (int64_t i = 0; i < A_; ++i) {
      const float y = y_[j * A_ + i];
      dz_[j * A_ + i] = dx_[j * w + obs_dim_ + i] * config_.scale[static_cast<size_t>(i)] * (1.0f - y * y);
    }
  }
  actor_net_.backward(actor_params_.data(), dz_.data(), actor_grad_.data(), nullptr);
  actor_adam_.clip_and_step(actor_params_.data(), actor_grad_.data(), kNoClip, config_.learning_rate);
  return -sum / static_cast<double>(m);
}

void FastTd3::polyak(double tau) {
  const float keep = static_cast<float>(1.0 - tau), take = static_cast<float>(tau);
  for (auto [t, o] : {std::pair{&actor_target_, &actor_params_}, std::pair{&critic_target_, &critic_params_}}) {
    for (size_t i = 0; i < t->size(); ++i) (*t)[i] = (*t)[i] * keep + take * (*o)[i];
  }
}

void FastTd3::save_optimizers(CheckpointWriter& w, const std::string& prefix) {
  auto put = [&](const std::string& name, nn::FastAdam& adam) {
    w.put_floats(prefix + "/" + name + "/exp_avg", std::vector<float>(adam.first_moment().begin(), adam.first_moment().end()));
    w.put_floats(prefix + "/" + name + "/exp_avg_sq",
                 std::vector<float>(adam.second_moment().begin(), adam.second_moment().end()));
    w.put_ints(prefix + "/" + name + "/step", {adam.step()});
  };
  put("actor", actor_adam_);
  put("critics", critic_adam_);
}

void FastTd3::load_optimizers(CheckpointReader& r, const std::string& prefix) {
  auto get = [&](const std::string& name, nn::FastAdam& adam) {
    const size_t n = static_cast<size_t>(adam.count());
    const std::vector<float> m = r.get_floats(prefix + "/" + name + "/exp_avg", n);
    const std::vector<float> v = r.get_floats(prefix + "/" + name + "/exp_avg_sq", n);
    std::copy(m.begin(), m.end(), adam.first_moment().begin());
    std::copy(v.begin(), v.end(), adam.second_moment().begin());
    adam.set_step(r.get_ints(prefix + "/" + name + "/step", 1)[0]);
  };
  get("actor", actor_adam_);
  get("critics", critic_adam_);
}

}  // namespace rlpp::train::offpolicy

#include "rlpp/train/offpolicy/fast_sac_update.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include <Eigen/Core>

#include "rlpp/core/error.h"
#include "rlpp/train/checkpoint.h"

namespace rlpp::train::offpolicy {

namespace {

constexpr double kNoClip = std::numeric_limits<double>::infinity();  // SAC clips no gradient
constexpr double kAdamEps = 1e-8;                                    // torch::optim::AdamOptions' default
constexpr float kLogStdMin = static_cast<float>(GaussianActorImpl::kLogStdMin);
constexpr float kLogStdMax = static_cast<float>(GaussianActorImpl::kLogStdMax);

void grow(nn::AlignedFloats& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.assign(static_cast<size_t>(n), 0.0f);
}

// torch::nn::functional::softplus with beta 1, threshold 20.
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// Copies between a module's parameters (in parameters() order) and a flat block.
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

std::vector<float> to_vector(const nn::AlignedFloats& v) { return std::vector<float>(v.begin(), v.end()); }

void from_vector(const std::vector<float>& v, nn::AlignedFloats& out) { std::copy(v.begin(), v.end(), out.begin()); }

}  // namespace

FastSac::FastSac(const FastSacConfig& config)
    : config_(config),
      A_(config.act_dim),
      obs_dim_(config.obs_dim),
      actor_net_(config.obs_dim, config.hidden, 2 * config.act_dim),
      critic_net_{FastReluMlp(config.obs_dim + config.act_dim, config.hidden, 1),
                  FastReluMlp(config.obs_dim + config.act_dim, config.hidden, 1)} {
  core::require(static_cast<int64_t>(config.scale.size()) == A_ && static_cast<int64_t>(config.bias.size()) == A_,
                "FastSac: action scale and bias need " + std::to_string(A_) + " components");
  const int64_t pa = actor_net_.num_params(), pq = critic_net_[0].num_params();
  actor_params_.assign(static_cast<size_t>(pa), 0.0f);
  actor_grad_.assign(static_cast<size_t>(pa), 0.0f);
  critic_params_.assign(static_cast<size_t>(2 * pq), 0.0f);
  critic_grad_.assign(static_cast<size_t>(2 * pq), 0.0f);
  critic_target_.assign(static_cast<size_t>(2 * pq), 0.0f);
  log_alpha_.assign(1, 0.0f);
  log_alpha_grad_.assign(1, 0.0f);
  actor_adam_ = nn::FastAdam(pa, kAdamEps);
  critic_adam_ = nn::FastAdam(2 * pq, kAdamEps);
  alpha_adam_ = nn::FastAdam(1, kAdamEps);
  if (config_.threads > 1) Eigen::initParallel();
}

template <class F>
void FastSac::for_both_critics(F&& f) {
  if (config_.threads > 1) {
    std::thread second([&f] { f(1); });
    f(0);
    second.join();
  } else {
    f(0);
    f(1);
  }
}

void FastSac::copy_from(GaussianActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, ContinuousQ& qf1_target,
                        ContinuousQ& qf2_target) {
  torch::NoGradGuard no_grad;
  // trunk layers as they are; then the two heads interleaved into one (2A, H) layer
  module_to_flat(*actor.ptr()->trunk, actor_params_.data());
  const int64_t last = actor_net_.num_layers() - 1, h = actor_net_.layer_in(last);
  float* w = actor_params_.data() + actor_net_.weight_offset(last);
  float* b = actor_params_.data() + actor_net_.bias_offset(last);
  std::copy_n(actor->mean->weight.contiguous().data_ptr<float>(), A_ * h, w);
  std::copy_n(actor->log_std->weight.contiguous().data_ptr<float>(), A_ * h, w + A_ * h);
  std::copy_n(actor->mean->bias.contiguous().data_ptr<float>(), A_, b);
  std::copy_n(actor->log_std->bias.contiguous().data_ptr<float>(), A_, b + A_);
  const int64_t pq = critic_params_each();
  module_to_flat(*qf1, critic_params_.data());
  module_to_flat(*qf2, critic_params_.data() + pq);
  module_to_flat(*qf1_target, critic_target_.data());
  module_to_flat(*qf2_target, critic_target_.data() + pq);
}

void FastSac::copy_to(GaussianActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, ContinuousQ& qf1_target,
                      ContinuousQ& qf2_target) const {
  torch::NoGradGuard no_grad;
  flat_to_module(actor_params_.data(), *actor.ptr()->trunk);
  const int64_t last = actor_net_.num_layers() - 1, h = actor_net_.layer_in(last);
  const float* w = actor_params_.data() + actor_net_.weight_offset(last);
  const float* b = actor_params_.data() + actor_net_.bias_offset(last);
  auto put = [](torch::Tensor t, const float* src) {
    t.copy_(torch::from_blob(const_cast<float*>(src), t.sizes(), torch::kFloat32));
  };
  put(actor->mean->weight, w);
  put(actor->log_std->weight, w + A_ * h);
  put(actor->mean->bias, b);
  put(actor->log_std->bias, b + A_);
  const int64_t pq = critic_params_each();
  flat_to_module(critic_params_.data(), *qf1);
  flat_to_module(critic_params_.data() + pq, *qf2);
  flat_to_module(critic_target_.data(), *qf1_target);
  flat_to_module(critic_target_.data() + pq, *qf2_target);
}

void FastSac::sample(const float* obs, int64_t m, const float* eps) {
  const int64_t n = m * A_;
  grow(eps_, n), grow(a_, n), grow(logp_, m), grow(tanh_r_, n), grow(sd_, n), grow(y_, n), grow(u_, n);
  std::copy_n(eps, n, eps_.data());
  const float* out = actor_net_.forward(actor_params_.data(), obs, m);  // (m, 2A): [μ | r] per row
  const float half_log_2pi = static_cast<float>(0.5 * std::log(2.0 * M_PI));
  const float log2 = static_cast<float>(std::log(2.0));
  const float half_range = static_cast<float>(0.5 * (GaussianActorImpl::kLogStdMax - GaussianActorImpl::kLogStdMin));
  for (int64_t j = 0; j < m; ++j) {
    float logp = 0.0f;
    for (int64_t i = 0; i < A_; ++i) {
      const int64_t k = j * A_ + i;
      const float mu = out[j * 2 * A_ + i], r = out[j * 2 * A_ + A_ + i], e = eps_[k];
      const float t = std::tanh(r);
      const float log_std = kLogStdMin + half_range * (t + 1.0f);
      const float sd = std::exp(log_std);
      const float u = mu + sd * e;
      const float y = std::tanh(u);
      const float scale = config_.scale[static_cast<size_t>(i)];
      const float log_normal = -0.5f * (e * e) - log_std - half_log_2pi;
      const float sech2 = std::exp(2.0f * (log2 - u - softplus(-2.0f * u)));
      logp += log_normal - std::log(scale * sech2 + 1e-6f);
      tanh_r_[k] = t;
      sd_[k] = sd;
      y_[k] = y;
      u_[k] = u;
      a_[k] = y * scale + config_.bias[static_cast<size_t>(i)];
    }
    logp_[j] = logp;
  }
}

const float* FastSac::critic_forward(int k, const float* params, const float* obs, const float* act, int64_t m) {
  FastReluMlp& net = critic_net_[k];
  float* x = net.input(m);  // (m, obs_dim + A)
  const int64_t w = obs_dim_ + A_;
  for (int64_t j = 0; j < m; ++j) {
    std::copy_n(obs + j * obs_dim_, obs_dim_, x + j * w);
    std::copy_n(act + j * A_, A_, x + j * w + obs_dim_);
  }
  return net.forward(params, m);
}

void FastSac::act(const float* obs, int64_t n, const float* eps, float* actions) {
  if (eps != nullptr) {
    sample(obs, n, eps);
    std::copy_n(a_.data(), n * A_, actions);
    return;
  }
  const float* out = actor_net_.forward(actor_params_.data(), obs, n);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t i = 0; i < A_; ++i) {
      actions[j * A_ + i] = std::tanh(out[j * 2 * A_ + i]) * config_.scale[static_cast<size_t>(i)] +
                            config_.bias[static_cast<size_t>(i)];
    }
  }
}

SacCriticStats FastSac::critic_step(const SacBatchView& batch, const float* next_eps, double alpha, float* td_abs) {
  const int64_t m = batch.size, pq = critic_params_each();
  grow(target_, m);
  for (int k = 0; k < 2; ++k) grow(q_[k], m), grow(tq_[k], m), grow(dq_[k], m);
  // y = R + discount · (min(Q1'(s', a'), Q2'(s', a')) − α log π(a'|s'))
  sample(batch.next_obs, m, next_eps);
  for_both_critics([&](int k) {
    const float* tq = critic_forward(k, critic_target_.data() + k * pq, batch.next_obs, a_.data(), m);
    std::copy_n(tq, m, tq_[k].data());
  });
  const float a = static_cast<float>(alpha);
  for (int64_t j = 0; j < m; ++j) {
    target_[j] = batch.returns[j] + batch.discount[j] * (std::min(tq_[0][j], tq_[1][j]) - a * logp_[j]);
  }
  SacCriticStats s;
  const float inv_m = 1.0f / static_cast<float>(m);
  for_both_critics([&](int k) {
    const float* q = critic_forward(k, critic_params_.data() + k * pq, batch.obs, batch.actions, m);
    std::copy_n(q, m, q_[k].data());
    double loss = 0, values = 0;
    for (int64_t j = 0; j < m; ++j) {
      const float d = q[j] - target_[j];
      loss += static_cast<double>(batch.weights[j] * d * d);
      values += q[j];
      dq_[k][j] = 2.0f * batch.weights[j] * d * inv_m;
    }
    loss_[k] = loss;
    values_[k] = values;
    critic_net_[k].backward(critic_params_.data() + k * pq, dq_[k].data(), critic_grad_.data() + k * pq, nullptr);
  });
  const double* loss = loss_;
  const double* values = values_;
  critic_adam_.clip_and_step(critic_params_.data(), critic_grad_.data(), kNoClip, config_.q_lr);
  for (int64_t j = 0; j < m; ++j) {
    td_abs[j] = 0.5f * (std::abs(q_[0][j] - target_[j]) + std::abs(q_[1][j] - target_[j]));
  }
  s.qf1_values = values[0] / static_cast<double>(m);
  s.qf2_values = values[1] / static_cast<double>(m);
  s.qf1_loss = loss[0] / static_cast<double>(m);
  s.qf2_loss = loss[1] / static_cast<double>(m);
  s.qf_loss = s.qf1_loss + s.qf2_loss;
  return s;
}

double FastSac::actor_step(const float* obs, int64_t m, const float* eps, double alpha) {
  const int64_t pq = critic_params_each(), w = obs_dim_ + A_;
  grow(q_[0], m), grow(q_[1], m), grow(dq_[0], m), grow(dq_[1], m);
  grow(dx_[0], m * w), grow(dx_[1], m * w), grow(d_actor_out_, m * 2 * A_);
  sample(obs, m, eps);
  const float a = static_cast<float>(alpha), inv_m = 1.0f / static_cast<float>(m);
  for_both_critics([&](int k) {
    std::copy_n(critic_forward(k, critic_params_.data() + k * pq, obs, a_.data(), m), m, q_[k].data());
  });
  const float* q1 = q_[0].data();
  const float* q2 = q_[1].data();
  double loss = 0;
  for (int64_t j = 0; j < m; ++j) {
    loss += static_cast<double>(a * logp_[j] - std::min(q1[j], q2[j]));
    // d min(q1, q2): the gradient goes to the smaller, half to each on a tie (torch::min's rule)
    dq_[0][j] = q1[j] < q2[j] ? -inv_m : (q1[j] > q2[j] ? 0.0f : -0.5f * inv_m);
    dq_[1][j] = q2[j] < q1[j] ? -inv_m : (q2[j] > q1[j] ? 0.0f : -0.5f * inv_m);
  }
  for_both_critics(
      [&](int k) { critic_net_[k].backward(critic_params_.data() + k * pq, dq_[k].data(), nullptr, dx_[k].data()); });
  const float half_range = static_cast<float>(0.5 * (GaussianActorImpl::kLogStdMax - GaussianActorImpl::kLogStdMin));
  const float dlogp = a * inv_m;  // dL/dlog π_b
  for (int64_t j = 0; j < m; ++j) {
    for (int64_t i = 0; i < A_; ++i) {
      const int64_t k = j * A_ + i;
      const float scale = config_.scale[static_cast<size_t>(i)];
      const float u = u_[k], y = y_[k];
      const float sech2 = std::exp(2.0f * (std::log(2.0f) - u - softplus(-2.0f * u)));
      const float dlogp_du = 2.0f * scale * y * sech2 / (scale * sech2 + 1e-6f);
      const float dq_da = dx_[0][j * w + obs_dim_ + i] + dx_[1][j * w + obs_dim_ + i];
      const float du = dlogp * dlogp_du + dq_da * scale * (1.0f - y * y);
      const float dlog_std = du * sd_[k] * eps_[k] - dlogp;
      d_actor_out_[j * 2 * A_ + i] = du;
      d_actor_out_[j * 2 * A_ + A_ + i] = dlog_std * half_range * (1.0f - tanh_r_[k] * tanh_r_[k]);
    }
  }
  actor_net_.backward(actor_params_.data(), d_actor_out_.data(), actor_grad_.data(), nullptr);
  actor_adam_.clip_and_step(actor_params_.data(), actor_grad_.data(), kNoClip, config_.policy_lr);
  return loss / static_cast<double>(m);
}

double FastSac::alpha_step(const float* obs, int64_t m, const float* eps, double target_entropy) {
  sample(obs, m, eps);
  const double alpha = std::exp(static_cast<double>(log_alpha_[0]));
  double sum = 0;
  for (int64_t j = 0; j < m; ++j) sum += static_cast<double>(logp_[j]) + target_entropy;
  const double loss = -alpha * sum / static_cast<double>(m);
  log_alpha_grad_[0] = static_cast<float>(loss);  // d/dlog α of −exp(log α)·c is −exp(log α)·c
  alpha_adam_.clip_and_step(log_alpha_.data(), log_alpha_grad_.data(), kNoClip, config_.q_lr);
  return loss;
}

void FastSac::polyak(double tau) {
  const float keep = static_cast<float>(1.0 - tau), take = static_cast<float>(tau);
  const size_t n = critic_target_.size();
  float* t = critic_target_.data();
  const float* o = critic_params_.data();
  for (size_t i = 0; i < n; ++i) t[i] = t[i] * keep + take * o[i];
}

void FastSac::save_optimizers(CheckpointWriter& w, const std::string& prefix) {
  auto put = [&](const std::string& name, nn::FastAdam& adam) {
    w.put_floats(prefix + "/" + name + "/exp_avg", to_vector(adam.first_moment()));
    w.put_floats(prefix + "/" + name + "/exp_avg_sq", to_vector(adam.second_moment()));
    w.put_ints(prefix + "/" + name + "/step", {adam.step()});
  };
  put("actor", actor_adam_);
  put("critics", critic_adam_);
  put("alpha", alpha_adam_);
}

void FastSac::load_optimizers(CheckpointReader& r, const std::string& prefix) {
  auto get = [&](const std::string& name, nn::FastAdam& adam) {
    const size_t n = static_cast<size_t>(adam.count());
    from_vector(r.get_floats(prefix + "/" + name + "/exp_avg", n), adam.first_moment());
    from_vector(r.get_floats(prefix + "/" + name + "/exp_avg_sq", n), adam.second_moment());
    adam.set_step(r.get_ints(prefix + "/" + name + "/step", 1)[0]);
  };
  get("actor", actor_adam_);
  get("critics", critic_adam_);
  get("alpha", alpha_adam_);
}

}  // namespace rlpp::train::offpolicy

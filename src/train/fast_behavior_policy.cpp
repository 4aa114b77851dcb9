#include "rlpp/train/fast_behavior_policy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "rlpp/core/error.h"
#include "rlpp/nn/action_sampling.h"
#include "rlpp/train/behavior_policy.h"

namespace rlpp::train {

namespace {
// out_j = z_j − logsumexp(z) for one row of n logits, in double.
void log_softmax_row(const float* z, int64_t n, double* out) {
  double mx = z[0];
  for (int64_t j = 1; j < n; ++j) mx = std::max(mx, static_cast<double>(z[j]));
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(z[j] - mx);
  const double log_z = mx + std::log(sum);
  for (int64_t j = 0; j < n; ++j) out[j] = z[j] - log_z;
}
}  // namespace

FastBehaviorPolicy::FastBehaviorPolicy(int64_t obs_dim, int64_t act_dim, bool discrete,
                                       const nn::MlpPolicyOptions& policy)
    : obs_dim_(obs_dim), act_dim_(act_dim), act_flat_(discrete ? 1 : act_dim), discrete_(discrete) {
  core::require(obs_dim > 0 && act_dim > 0, "behaviour policy: obs_dim and act_dim must be positive");
  const nn::Activation activation = nn::parse_activation(policy.activation);
  const bool tanh_out = policy.mean_tanh && !discrete;  // the Gaussian mean's tanh
  actor_ = nn::FastMlp(obs_dim, policy.hidden, act_dim, activation, tanh_out);
  theta_actor_ = nn::FastMlp(obs_dim, policy.hidden, act_dim, activation, tanh_out);
  actor_offset_ = discrete ? 0 : act_dim;
  const int64_t total = actor_offset_ + actor_.num_params();
  params_.assign(static_cast<size_t>(total), 0.0f);
  grads_.assign(params_.size(), 0.0f);
  theta_params_.assign(params_.size(), 0.0f);
}

void FastBehaviorPolicy::flatten(const nn::ActorCritic& pi, float* dst) const {
  torch::NoGradGuard no_grad;
  core::require(pi->obs_dim() == obs_dim_ && pi->act_dim() == act_dim_ && pi->discrete() == discrete_,
                "behaviour policy: the policy's shape differs from the behaviour policy's");
  auto copy = [](const torch::Tensor& t, float* out, int64_t numel) {
    const torch::Tensor c = t.to(torch::kFloat32).contiguous();
    core::require(c.numel() == numel, "behaviour policy: parameter size mismatch");
    std::memcpy(out, c.data_ptr<float>(), sizeof(float) * static_cast<size_t>(numel));
  };
  if (!discrete_) copy(pi->log_std, dst, act_dim_);
  const auto named = pi->actor->named_parameters();
  float* base = dst + actor_offset_;
  // make_mlp puts an activation module after every hidden Linear: Linear l is child 2l.
  for (int64_t l = 0; l < actor_.num_layers(); ++l) {
    const std::string name = std::to_string(2 * l);
    copy(named[name + ".weight"], base + actor_.weight_offset(l), actor_.layer_out(l) * actor_.layer_in(l));
    copy(named[name + ".bias"], base + actor_.bias_offset(l), actor_.layer_out(l));
  }
}

void FastBehaviorPolicy::to_module(nn::ActorCritic& pi) const {
  torch::NoGradGuard no_grad;
  auto paste = [](const float* src, torch::Tensor t) {
    t.copy_(torch::from_blob(const_cast<float*>(src), t.sizes(), torch::kFloat32));
  };
  if (!discrete_) paste(params_.data(), pi->log_std);
  const auto named = pi->actor->named_parameters();
  const float* base = params_.data() + actor_offset_;
  for (int64_t l = 0; l < actor_.num_layers(); ++l) {
    const std::string name = std::to_string(2 * l);
    paste(base + actor_.weight_offset(l), named[name + ".weight"]);
    paste(base + actor_.bias_offset(l), named[name + ".bias"]);
  }
}

void FastBehaviorPolicy::sample(const float* obs, int64_t n, core::Rng& rng, float* actions) {
  const float* out = actor_.forward(params_.data() + actor_offset_, obs, n);  // (n, A)
  logp_scratch_.resize(static_cast<size_t>(n));
  if (discrete_) {
    nn::sample_categorical(out, n, act_dim_, rng, /*deterministic=*/false, actions, logp_scratch_.data());
  } else {
    nn::sample_gaussian(out, params_.data(), n, act_dim_, rng, /*deterministic=*/false, actions, logp_scratch_.data());
  }
}

//   categorical: log π(a|s) = z_a − logsumexp(z);  Gaussian: Σ_a −½u_a² − log σ_a − ½ log 2π, u = (a − μ)/σ.
void FastBehaviorPolicy::log_prob(const float* out, const float* log_std, const float* actions, int64_t m,
                                  float* logp) const {
  const int64_t na = act_dim_;
  const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
  std::vector<double> row(static_cast<size_t>(na));
  for (int64_t i = 0; i < m; ++i) {
    const float* z = out + i * na;
    double lp = 0.0;
    if (discrete_) {
      log_softmax_row(z, na, row.data());
      lp = row[static_cast<size_t>(actions[i])];
    } else {
      for (int64_t j = 0; j < na; ++j) {
        const double u = (static_cast<double>(actions[i * na + j]) - z[j]) * std::exp(-static_cast<double>(log_std[j]));
        lp += -0.5 * u * u - log_std[j] - half_log_2pi;
      }
    }
    logp[i] = static_cast<float>(lp);
  }
}

// Categorical, logits z (φ) and y (θ), p = softmax z, q = softmax y:
//   KL = Σ_j p_j (log p_j − log q_j).
// Gaussian, means μ (φ) and ν (θ), log σ s (φ) and t (θ):
//   KL = Σ_a [t_a − s_a + (σφ_a² + (μ_a − ν_a)²) / (2σθ_a²) − ½].
double FastBehaviorPolicy::mean_kl(const float* phi_out, const float* theta_out, int64_t m) const {
  const int64_t na = act_dim_;
  double total = 0.0;
  if (discrete_) {
    std::vector<double> lp(static_cast<size_t>(na)), lq(static_cast<size_t>(na));
    for (int64_t i = 0; i < m; ++i) {
      log_softmax_row(phi_out + i * na, na, lp.data());
      log_softmax_row(theta_out + i * na, na, lq.data());
      for (int64_t j = 0; j < na; ++j) total += std::exp(lp[j]) * (lp[j] - lq[j]);
    }
    return total / static_cast<double>(m);
  }
  const float* s = params_.data();
  const float* t = theta_params_.data();
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < na; ++j) {
      const double var_p = std::exp(2.0 * s[j]), var_q = std::exp(2.0 * t[j]);
      const double d = static_cast<double>(phi_out[i * na + j]) - theta_out[i * na + j];
      total += t[j] - s[j] + (var_p + d * d) / (2.0 * var_q) - 0.5;
    }
  }
  return total / static_cast<double>(m);
}

// With g_i = ∂L/∂log π_φ(a_i|s_i) = r_i · [r_i ≥ 1 − ε] / M (the max picks r_i, or the clamp
// passes its gradient, unless r_i fell below 1 − ε) and c = λ / M:
//   categorical: ∂L/∂z_ij = g_i ([j = a_i] − p_ij) + c p_ij (log p_ij − log q_ij − KL_i)
//   Gaussian:    ∂L/∂μ_ij = g_i u_ij / σφ_j + c (μ_ij − ν_ij) / σθ_j²
//                ∂L/∂s_j  = Σ_i g_i (u_ij² − 1) + c (σφ_j² / σθ_j² − 1)
FastBehaviorPolicy::MinibatchLoss FastBehaviorPolicy::loss_backward(const float* phi_out, const float* theta_out,
                                                                    const float* actions, const float* logp_theta,
                                                                    int64_t m, const PropsOptions& opts) {
  const int64_t na = act_dim_;
  // λ weighs the KL per action dimension (behavior_kl_scale), as the authors' code does
  const double kl_scale = behavior_kl_scale(discrete_, na);
  const double inv_m = 1.0 / static_cast<double>(m), c = opts.behavior_kl_coef * kl_scale * inv_m;
  const double eps = opts.behavior_clip;
  double clip_sum = 0.0, kl_sum = 0.0, clipped = 0.0;
  const auto ratio_grad = [&](int64_t i, double logp_phi) {
    const double r = std::exp(logp_phi - static_cast<double>(logp_theta[i]));
    clip_sum += std::max(r, std::clamp(r, 1.0 - eps, 1.0 + eps));
    clipped += std::abs(r - 1.0) > eps ? 1.0 : 0.0;
    return r >= 1.0 - eps ? r * inv_m : 0.0;
  };
  if (discrete_) {
    std::vector<double> lp(static_cast<size_t>(na)), lq(static_cast<size_t>(na));
    for (int64_t i = 0; i < m; ++i) {
      float* dz = d_out_.data() + i * na;
      log_softmax_row(phi_out + i * na, na, lp.data());
      log_softmax_row(theta_out + i * na, na, lq.data());
      double kl = 0.0;
      for (int64_t j = 0; j < na; ++j) kl += std::exp(lp[j]) * (lp[j] - lq[j]);
      kl_sum += kl;
      const int64_t a = static_cast<int64_t>(actions[i]);
      const double g = ratio_grad(i, lp[a]);
      for (int64_t j = 0; j < na; ++j) {
        const double p = std::exp(lp[j]);
        dz[j] = static_cast<float>(g * ((j == a ? 1.0 : 0.0) - p) + c * p * (lp[j] - lq[j] - kl));
      }
    }
  } else {
    const float* s = params_.data();
    const float* t = theta_params_.data();
    const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
    std::vector<double> d_s(static_cast<size_t>(na), 0.0), inv_sigma(static_cast<size_t>(na)),
        inv_var_q(static_cast<size_t>(na)), var_ratio(static_cast<size_t>(na));
    for (int64_t j = 0; j < na; ++j) {
      inv_sigma[j] = std::exp(-static_cast<double>(s[j]));
      inv_var_q[j] = std::exp(-2.0 * t[j]);
      var_ratio[j] = std::exp(2.0 * s[j]) * inv_var_q[j];
    }
    for (int64_t i = 0; i < m; ++i) {
      const float* mu = phi_out + i * na;
      const float* nu = theta_out + i * na;
      const float* a = actions + i * na;
      float* dmu = d_out_.data() + i * na;
      double logp = 0.0, kl = 0.0;
      for (int64_t j = 0; j < na; ++j) {
        const double u = (static_cast<double>(a[j]) - mu[j]) * inv_sigma[j];
        const double d = static_cast<double>(mu[j]) - nu[j];
        logp += -0.5 * u * u - s[j] - half_log_2pi;
        kl += t[j] - s[j] + 0.5 * (var_ratio[j] + d * d * inv_var_q[j]) - 0.5;
      }
      kl_sum += kl;
      const double g = ratio_grad(i, logp);
      for (int64_t j = 0; j < na; ++j) {
        const double u = (static_cast<double>(a[j]) - mu[j]) * inv_sigma[j];
        const double d = static_cast<double>(mu[j]) - nu[j];
        dmu[j] = static_cast<float>(g * u * inv_sigma[j] + c * d * inv_var_q[j]);
        d_s[j] += g * (u * u - 1.0);
      }
    }
    for (int64_t j = 0; j < na; ++j) {
      grads_[j] = static_cast<float>(d_s[j] + c * static_cast<double>(m) * (var_ratio[j] - 1.0));
    }
  }
  const double loss = clip_sum * inv_m + opts.behavior_kl_coef * kl_scale * kl_sum * inv_m;
  return {loss, clipped * inv_m, kl_sum * inv_m};
}

BehaviorUpdateStats FastBehaviorPolicy::update(const nn::ActorCritic& theta, const float* obs, const float* actions,
                                               int64_t rows, const PropsOptions& opts, core::Rng& rng) {
  core::require(rows >= 1, "behaviour policy: empty buffer");
  flatten(theta, theta_params_.data());
  params_ = theta_params_;  // φ ← θ
  adam_ = nn::FastAdam(num_params(), 1e-5);
  const int64_t na = act_dim_;
  // θ's outputs and log-probabilities on the buffer: the fixed target.
  const float* tout = theta_actor_.forward(theta_params_.data() + actor_offset_, obs, rows);  // (B, A)
  theta_out_.assign(tout, tout + rows * na);
  logp_theta_.resize(static_cast<size_t>(rows));
  log_prob(theta_out_.data(), theta_params_.data(), actions, rows, logp_theta_.data());

  const int64_t mb = std::max<int64_t>(1, rows / opts.behavior_minibatches);
  mb_obs_.resize(static_cast<size_t>(mb * obs_dim_));
  mb_act_.resize(static_cast<size_t>(mb * act_flat_));
  mb_theta_out_.resize(static_cast<size_t>(mb * na));
  mb_logp_theta_.resize(static_cast<size_t>(mb));
  d_out_.resize(static_cast<size_t>(mb * na));
  std::vector<int64_t> idx(static_cast<size_t>(rows));
  std::iota(idx.begin(), idx.end(), 0);
  BehaviorUpdateStats stats;
  bool stopped = false;
  for (int epoch = 0; epoch < opts.behavior_epochs; ++epoch) {
    rng.shuffle(idx.data(), rows);
    for (int64_t start = 0; start + mb <= rows; start += mb) {
      for (int64_t k = 0; k < mb; ++k) {
        const int64_t j = idx[start + k];
        std::copy_n(obs + j * obs_dim_, obs_dim_, mb_obs_.data() + k * obs_dim_);
        std::copy_n(actions + j * act_flat_, act_flat_, mb_act_.data() + k * act_flat_);
        std::copy_n(theta_out_.data() + j * na, na, mb_theta_out_.data() + k * na);
        mb_logp_theta_[k] = logp_theta_[j];
      }
      const float* out = actor_.forward(params_.data() + actor_offset_, mb_obs_.data(), mb);  // (M, A)
      const MinibatchLoss l = loss_backward(out, mb_theta_out_.data(), mb_act_.data(), mb_logp_theta_.data(), mb, opts);
      // the minibatch's KL before its step: past the target, the update ends here
      if (opts.behavior_target_kl > 0 && l.kl > opts.behavior_target_kl) {
        stopped = true;
        break;
      }
      actor_.backward(params_.data() + actor_offset_, d_out_.data(), grads_.data() + actor_offset_);
      adam_.clip_and_step(params_.data(), grads_.data(), opts.behavior_max_grad_norm, opts.behavior_lr);
      stats.loss = l.loss;
      stats.clipfrac = l.clipfrac;
      ++stats.steps;
    }
    stats.epochs = epoch + 1;
    if (stopped) break;
  }
  const float* out = actor_.forward(params_.data() + actor_offset_, obs, rows);  // (B, A)
  stats.kl = mean_kl(out, theta_out_.data(), rows);
  return stats;
}

}  // namespace rlpp::train

namespace rlpp::train {

namespace {

// FastBehaviorPolicy behind the BehaviorPolicy interface; `module_` is φ's archive form only.
class FastBehavior final : public BehaviorPolicy {
 public:
  FastBehavior(const LearnerConfig& config, nn::ActorCritic init)
      : phi_(config.obs_dim, config.act_dim, config.discrete, config.policy), module_(std::move(init)) {
    phi_.set(module_);
  }

  void sample(const float* obs, int64_t n, core::Rng& rng, float* actions) override { phi_.sample(obs, n, rng, actions); }

  BehaviorUpdateStats update(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                             const PropsOptions& opts, core::Rng& rng) override {
    return phi_.update(theta, obs.data_ptr<float>(), actions.data_ptr<float>(), obs.size(0), opts, rng);
  }

  void save(torch::serialize::OutputArchive& archive) override {
    phi_.to_module(module_);
    module_->save(archive);
  }
  void load(torch::serialize::InputArchive& archive) override {
    module_->load(archive);
    phi_.set(module_);
  }

 private:
  FastBehaviorPolicy phi_;
  nn::ActorCritic module_;
};

}  // namespace

std::unique_ptr<BehaviorPolicy> make_fast_behavior_policy(const LearnerConfig& config, nn::ActorCritic init) {
  return std::make_unique<FastBehavior>(config, std::move(init));
}

}  // namespace rlpp::train

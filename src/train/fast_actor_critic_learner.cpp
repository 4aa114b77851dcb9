#include "rlpp/train/fast_actor_critic_learner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rlpp/algo/normalize.h"
#include "rlpp/algo/ratio.h"
#include "rlpp/core/error.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/nn/action_sampling.h"

namespace rlpp::train {

namespace {
std::string optimizer_state_key(const torch::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}
}  // namespace

FastActorCriticLearner::FastActorCriticLearner(const LearnerConfig& config)
    : config_(config), act_dim_(config.act_dim) {
  core::require(config.obs_dim > 0 && config.act_dim > 0,
                "fast learner: obs_dim and act_dim must be positive, got " + std::to_string(config.obs_dim) +
                    " and " + std::to_string(config.act_dim));
  module_ = nn::ActorCritic(config.obs_dim, config.act_dim, config.discrete, config.policy);
  module_optim_ = std::make_unique<torch::optim::Adam>(module_->parameters(),
                                                       torch::optim::AdamOptions(last_lr_).eps(config.adam_eps));

  const nn::Activation activation = nn::parse_activation(config.policy.activation);
  critic_ = nn::FastMlp(config.obs_dim, config.policy.hidden, 1, activation);
  actor_ = nn::FastMlp(config.obs_dim, config.policy.hidden, config.act_dim, activation,
                       /*tanh_out=*/config.policy.mean_tanh && !config.discrete);
  // nn::Module::parameters() lists a module's own parameters before its children's.
  int64_t total = 0;
  if (!config.discrete) {
    log_std_offset_ = 0;
    slots_.push_back({"log_std", log_std_offset_, act_dim_});
    total += act_dim_;
    log_std_acc_.assign(static_cast<size_t>(act_dim_), 0.0);
  }
  critic_offset_ = total;
  actor_offset_ = critic_offset_ + critic_.num_params();
  total = actor_offset_ + actor_.num_params();
  add_mlp_slots("critic", critic_, critic_offset_);
  add_mlp_slots("actor", actor_, actor_offset_);
  head_scratch_.assign(static_cast<size_t>(act_dim_), 0.0);
  params_.assign(static_cast<size_t>(total), 0.0f);
  grads_.assign(params_.size(), 0.0f);
  adam_ = nn::FastAdam(total, config.adam_eps);
  copy_from_module();
}

void FastActorCriticLearner::add_mlp_slots(const std::string& prefix, const nn::FastMlp& mlp, int64_t base) {
  // make_mlp puts an activation module after every hidden Linear: Linear l is child 2l.
  for (int64_t l = 0; l < mlp.num_layers(); ++l) {
    const std::string name = prefix + "." + std::to_string(2 * l);
    slots_.push_back({name + ".weight", base + mlp.weight_offset(l), mlp.layer_out(l) * mlp.layer_in(l)});
    slots_.push_back({name + ".bias", base + mlp.bias_offset(l), mlp.layer_out(l)});
  }
}

void FastActorCriticLearner::copy_from_module() {
  torch::NoGradGuard no_grad;
  const auto named = module_->named_parameters();
  for (const Slot& s : slots_) {
    const torch::Tensor* p = named.find(s.name);
    core::require(p != nullptr && p->numel() == s.numel,
                  "fast learner: the actor-critic module has no parameter " + s.name + " of " +
                      std::to_string(s.numel) + " elements");
    const torch::Tensor c = p->to(torch::kFloat32).contiguous();
    std::memcpy(params_.data() + s.offset, c.data_ptr<float>(), sizeof(float) * static_cast<size_t>(s.numel));
  }
}

void FastActorCriticLearner::copy_to_module() {
  torch::NoGradGuard no_grad;
  const auto named = module_->named_parameters();
  for (const Slot& s : slots_) {
    torch::Tensor p = named[s.name];
    p.copy_(torch::from_blob(params_.data() + s.offset, p.sizes(), torch::kFloat32));
  }
}

void FastActorCriticLearner::act(const float* obs, int64_t n, core::Rng& rng, bool deterministic,
                                 float* actions, float* logp, float* value) {
  const float* out = actor_.forward(params_.data() + actor_offset_, obs, n);   // (n, A)
  const float* v = critic_.forward(params_.data() + critic_offset_, obs, n);  // (n, 1)
  std::copy_n(v, n, value);
  if (config_.discrete) {
    nn::sample_categorical(out, n, act_dim_, rng, deterministic, actions, logp);
  } else {
    nn::sample_gaussian(out, params_.data() + log_std_offset_, n, act_dim_, rng, deterministic, actions, logp);
  }
}

void FastActorCriticLearner::value(const float* obs, int64_t n, float* value) {
  const float* v = critic_.forward(params_.data() + critic_offset_, obs, n);  // (n, 1)
  std::copy_n(v, n, value);
}

UpdateStats FastActorCriticLearner::update(const ControlMinibatch& mb, const PpoLossOptions& opts, double lr) {
  const int64_t m = mb.size;
  if (m <= 0) throw core::UserError("fast learner: empty minibatch");
  if (opts.objective) throw core::UserError("the fast backend implements PPO's clip only: use policy.backend = \"torch\"");
  if (static_cast<int64_t>(adv_.size()) < m) {
    adv_.resize(static_cast<size_t>(m));
    d_actor_out_.resize(static_cast<size_t>(m * act_dim_));
    d_value_.resize(static_cast<size_t>(m));
  }

  // CleanRL's per-minibatch whitening, in double like algo::normalize_advantages:
  //   Â = (A − mean) / (std_unbiased + 1e-8), std = 0 for a single sample.
  if (opts.norm_adv && !std::isnan(opts.adv_mean)) {
    for (int64_t i = 0; i < m; ++i) {
      adv_[i] = static_cast<float>((mb.advantages[i] - opts.adv_mean) / (opts.adv_std + algo::kAdvantageNormEps));
    }
  } else if (opts.norm_adv) {
    double mean = 0.0;
    for (int64_t i = 0; i < m; ++i) mean += mb.advantages[i];
    mean /= static_cast<double>(m);
    double ss = 0.0;
    for (int64_t i = 0; i < m; ++i) ss += (mb.advantages[i] - mean) * (mb.advantages[i] - mean);
    const double sd = m > 1 ? std::sqrt(ss / static_cast<double>(m - 1)) : 0.0;
    for (int64_t i = 0; i < m; ++i) {
      adv_[i] = static_cast<float>((mb.advantages[i] - mean) / (sd + algo::kAdvantageNormEps));
    }
  } else {
    std::copy_n(mb.advantages, m, adv_.data());
  }

  UpdateStats stats;
  const float* out = actor_.forward(params_.data() + actor_offset_, mb.obs, m);   // (M, A)
  const float* v = critic_.forward(params_.data() + critic_offset_, mb.obs, m);  // (M, 1)
  policy_backward(mb, opts, out, &stats);
  stats.value_loss = value_backward(mb, opts, v);
  actor_.backward(params_.data() + actor_offset_, d_actor_out_.data(), grads_.data() + actor_offset_);
  critic_.backward(params_.data() + critic_offset_, d_value_.data(), grads_.data() + critic_offset_);
  if (opts.comm) dist::average(*opts.comm, grads_.data(), static_cast<int64_t>(grads_.size()));
  stats.grad_norm = clip_and_adam_step(opts.max_grad_norm, lr);
  return stats;
}

// Per token i with log r_i = clamp(logπ_i − logπ_old_i, −20, 20) and Â_i the (normalised) advantage,
//   ℓ_i = −Â_i · clip-or-r_i  (algo::clipped_surrogate), L_pg = mean_i ℓ_i,
//   ∂L_pg/∂logπ_i = −Â_i r_i / M unless the token is clipped (Â>0, r>1+ε or Â<0, r<1−ε) or the log
//   ratio clamp binds, where it is 0.
// Entropy term −c_H · mean_i H_i:
//   categorical: ∂H_i/∂z_ij = −p_ij (log p_ij + H_i);  Gaussian: ∂H/∂log σ_j = 1 (no state dependence).
// Log-probability:
//   categorical: ∂logπ_i/∂z_ij = [j = a_i] − p_ij
//   Gaussian:    u_ij = (a_ij − μ_ij)/σ_j, ∂logπ_i/∂μ_ij = u_ij/σ_j, ∂logπ_i/∂log σ_j = u_ij² − 1.
void FastActorCriticLearner::policy_backward(const ControlMinibatch& mb, const PpoLossOptions& opts,
                                             const float* actor_out, UpdateStats* stats) {
  const int64_t m = mb.size, na = act_dim_;
  const double inv_m = 1.0 / static_cast<double>(m);
  const double lo = 1.0 - opts.clip_coef, hi = 1.0 + opts.clip_coef;
  double pg_sum = 0.0, ent_sum = 0.0, old_kl_sum = 0.0, kl_sum = 0.0, clip_count = 0.0;

  // dL/dlogπ_i of the clipped surrogate; accumulates the ratio statistics (unclamped log r, as the
  // reference computes them).
  const auto surrogate_grad = [&](int64_t i, double logp) {
    const double log_r = logp - mb.logp_old[i];
    const double r_stat = std::exp(log_r);
    old_kl_sum += -log_r;
    kl_sum += (r_stat - 1.0) - log_r;
    clip_count += std::abs(r_stat - 1.0) > opts.clip_coef ? 1.0 : 0.0;
    const bool clamped = std::abs(log_r) > algo::kLogRatioClamp;
    const double r = std::exp(std::clamp(log_r, -algo::kLogRatioClamp, algo::kLogRatioClamp));
    const double a = adv_[i];
    const bool clipped_high = a > 0 && r > hi;
    const bool clipped_low = a < 0 && r < lo;
    pg_sum += -a * (clipped_high ? hi : clipped_low ? lo : r);
    return (clipped_high || clipped_low || clamped) ? 0.0 : -a * r * inv_m;
  };

  if (config_.discrete) {
    double* prob = head_scratch_.data();  // (A) softmax of one row
    for (int64_t i = 0; i < m; ++i) {
      const float* z = actor_out + i * na;  // (A) logits
      float* dz = d_actor_out_.data() + i * na;
      const int64_t action = static_cast<int64_t>(mb.actions[i]);
      if (action < 0 || action >= na || static_cast<float>(action) != mb.actions[i]) {
        throw core::UserError("fast learner: action " + std::to_string(mb.actions[i]) + " at minibatch row " +
                              std::to_string(i) + " is not an index in [0, " + std::to_string(na) + ")");
      }
      double mx = z[0];
      for (int64_t j = 1; j < na; ++j) mx = std::max(mx, static_cast<double>(z[j]));
      double sum = 0.0;
      for (int64_t j = 0; j < na; ++j) sum += (prob[j] = std::exp(z[j] - mx));
      const double log_z = mx + std::log(sum);
      double h = 0.0;  // H_i = −Σ_j p_j log p_j
      for (int64_t j = 0; j < na; ++j) {
        prob[j] /= sum;
        h -= prob[j] * (z[j] - log_z);
      }
      ent_sum += h;
      const double g_logp = surrogate_grad(i, z[action] - log_z);
      const double g_ent = opts.ent_coef * inv_m;  // d(−c_H mean H)/dH_i = −c_H/M
      for (int64_t j = 0; j < na; ++j) {
        const double p = prob[j];
        dz[j] = static_cast<float>(g_logp * ((j == action ? 1.0 : 0.0) - p) + g_ent * p * (z[j] - log_z + h));
      }
    }
  } else {
    const float* log_std = params_.data() + log_std_offset_;  // (A)
    float* d_log_std = grads_.data() + log_std_offset_;      // (A)
    const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
    double h = 0.0;  // H = Σ_j (½ + ½ log 2π + log σ_j), the same for every state
    for (int64_t j = 0; j < na; ++j) h += 0.5 + half_log_2pi + log_std[j];
    ent_sum = h * static_cast<double>(m);
    double* inv_sigma = head_scratch_.data();    // (A) 1/σ_j
    double* d_log_std_acc = log_std_acc_.data();  // (A), summed in double over the batch
    for (int64_t j = 0; j < na; ++j) {
      inv_sigma[j] = std::exp(-static_cast<double>(log_std[j]));
      d_log_std_acc[j] = -opts.ent_coef;
    }
    for (int64_t i = 0; i < m; ++i) {
      const float* mu = actor_out + i * na;  // (A) mean
      const float* a = mb.actions + i * na;  // (A)
      float* dmu = d_actor_out_.data() + i * na;
      double logp = 0.0;
      for (int64_t j = 0; j < na; ++j) {
        const double u = (static_cast<double>(a[j]) - mu[j]) * inv_sigma[j];
        logp += -0.5 * u * u - log_std[j] - half_log_2pi;
      }
      const double g_logp = surrogate_grad(i, logp);
      for (int64_t j = 0; j < na; ++j) {
        const double u = (static_cast<double>(a[j]) - mu[j]) * inv_sigma[j];
        dmu[j] = static_cast<float>(g_logp * u * inv_sigma[j]);
        d_log_std_acc[j] += g_logp * (u * u - 1.0);
      }
    }
    for (int64_t j = 0; j < na; ++j) d_log_std[j] = static_cast<float>(d_log_std_acc[j]);
  }
  const double md = static_cast<double>(m);
  stats->policy_loss = pg_sum / md;
  stats->entropy = ent_sum / md;
  stats->old_approx_kl = old_kl_sum / md;
  stats->approx_kl = kl_sum / md;
  stats->clipfrac = clip_count / md;
}

// L_v = vf_coef · mean_i ℓ_i with (algo::value_token_loss)
//   unclipped: ℓ_i = ½ (V_i − R_i)²
//   clipped:   ℓ_i = ½ max((V_i − R_i)², (V_old,i + clamp(V_i − V_old,i, −c, c) − R_i)²)
// The max sends the gradient to the larger branch (half to each on a tie, as torch's maximum);
// the clipped branch has gradient only where the clamp does not bind.
double FastActorCriticLearner::value_backward(const ControlMinibatch& mb, const PpoLossOptions& opts,
                                              const float* value) {
  const int64_t m = mb.size;
  const double scale = opts.vf_coef / static_cast<double>(m);
  const double c = opts.clip_coef;
  double loss_sum = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    const double v = value[i], ret = mb.returns[i];
    const double e = v - ret;
    double dv = e;  // dℓ_i/dV_i
    if (!opts.clip_vloss) {
      loss_sum += 0.5 * e * e;
    } else {
      const double v_old = mb.values_old[i];
      const double diff = v - v_old;
      const double e_clip = v_old + std::clamp(diff, -c, c) - ret;
      const double d_clip = (diff >= -c && diff <= c) ? e_clip : 0.0;
      const double u = e * e, w = e_clip * e_clip;
      loss_sum += 0.5 * std::max(u, w);
      dv = u > w ? e : u < w ? d_clip : 0.5 * (e + d_clip);
    }
    d_value_[i] = static_cast<float>(scale * dv);
  }
  return loss_sum / static_cast<double>(m);
}

double FastActorCriticLearner::clip_and_adam_step(double max_grad_norm, double lr) {
  last_lr_ = lr;
  return adam_.clip_and_step(params_.data(), grads_.data(), max_grad_norm, lr);
}

std::vector<torch::Tensor> FastActorCriticLearner::weights() {
  return {torch::from_blob(params_.data(), {static_cast<int64_t>(params_.size())}, torch::kFloat32)};
}

void FastActorCriticLearner::save(torch::serialize::OutputArchive& archive) {
  copy_to_module();
  // Fill the twin optimizer's state with ours, keyed the way torch::optim::Adam keys it.
  torch::NoGradGuard no_grad;
  auto& state = module_optim_->state();
  state.clear();
  const auto named = module_->named_parameters();
  for (const Slot& s : slots_) {
    if (adam_.step() == 0) break;  // torch has no state for a parameter before its first step
    const torch::Tensor& p = named[s.name];
    auto st = std::make_unique<torch::optim::AdamParamState>();
    st->step(adam_.step());
    st->exp_avg(torch::from_blob(adam_.first_moment().data() + s.offset, p.sizes(), torch::kFloat32).clone());
    st->exp_avg_sq(torch::from_blob(adam_.second_moment().data() + s.offset, p.sizes(), torch::kFloat32).clone());
    state[optimizer_state_key(p)] = std::move(st);
  }
  for (auto& group : module_optim_->param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(last_lr_);
  }
  torch::serialize::OutputArchive model, optim;
  module_->save(model);
  module_optim_->save(optim);
  archive.write("model", model);
  archive.write("optim", optim);
  state.clear();
}

void FastActorCriticLearner::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive model, optim;
  archive.read("model", model);
  archive.read("optim", optim);
  module_->load(model);
  module_optim_->state().clear();
  module_optim_->load(optim);
  copy_from_module();

  auto& state = module_optim_->state();
  const auto named = module_->named_parameters();
  int64_t step = -1;  // the common step of every parameter's state; -1: none seen yet
  size_t found = 0;
  for (const Slot& s : slots_) {
    const auto it = state.find(optimizer_state_key(named[s.name]));
    if (it == state.end()) continue;
    const auto& st = static_cast<const torch::optim::AdamParamState&>(*it->second);
    core::require(st.exp_avg().numel() == s.numel && st.exp_avg_sq().numel() == s.numel,
                  "fast learner: optimizer state of " + s.name + " has the wrong size");
    core::require(step < 0 || st.step() == step,
                  "fast learner: optimizer state of " + s.name + " is at step " + std::to_string(st.step()) +
                      " but other parameters are at step " + std::to_string(step));
    step = st.step();
    const torch::Tensor m = st.exp_avg().to(torch::kFloat32).contiguous();
    const torch::Tensor v = st.exp_avg_sq().to(torch::kFloat32).contiguous();
    std::memcpy(adam_.first_moment().data() + s.offset, m.data_ptr<float>(), sizeof(float) * static_cast<size_t>(s.numel));
    std::memcpy(adam_.second_moment().data() + s.offset, v.data_ptr<float>(), sizeof(float) * static_cast<size_t>(s.numel));
    ++found;
  }
  core::require(found == 0 || found == slots_.size(),
                "fast learner: the optimizer state covers " + std::to_string(found) + " of " +
                    std::to_string(slots_.size()) + " parameters");
  if (found == 0) {
    adam_.reset(adam_.count());
  }
  adam_.set_step(found == 0 ? 0 : step);
  state.clear();
}

}  // namespace rlpp::train

#include "rlpp/train/offline/odice.h"

#include <algorithm>
#include <cmath>

#include "rlpp/train/offline/fused_adam.h"
#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offline {

void OdiceOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("lambda", lambda, "weight of the f* term against (1 - lambda) E[V]", Bounds{0.0, 1.0, true, true});
  b.num("eta", eta, "weight of the backward gradient", Bounds::non_negative());
  b.choice("f_divergence", f_divergence, {"pearson_chi2", "reverse_kl"}, "the f-divergence of the DICE objective");
  b.choice("gradient", gradient, {"orthogonal", "true", "semi"},
           "the value update: orthogonal-gradient (ODICE), true-gradient or semi-gradient");
  b.num("value_learning_rate", value_learning_rate, "Adam learning rate of the value heads", Bounds::positive());
  b.num("policy_learning_rate", policy_learning_rate, "Adam learning rate of the policy", Bounds::positive());
  b.num("policy_weight_decay", policy_weight_decay, "Adam weight decay of the policy", Bounds::non_negative());
  b.num("tau", tau, "Polyak coefficient of the target value network", Bounds::closed(0, 1));
  b.num("max_weight", max_weight, "clip of the behaviour-cloning weights", Bounds::positive());
  b.flag("twin_v", twin_v, "two value heads (V-bar is the minimum of the target heads)");
  b.flag("layer_norm", layer_norm, "LayerNorm after each hidden layer of the value heads");
  b.integers("value_hidden", value_hidden, "hidden widths of the value heads (ReLU)", Bounds::closed(1, 1 << 16));
  b.integers("policy_hidden", policy_hidden, "hidden widths of the policy mean (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor odice_f_star(const torch::Tensor& r, const std::string& f) {
  if (f == "reverse_kl") return (r - 1).exp();
  TORCH_CHECK(f == "pearson_chi2", "odice: unknown f-divergence ", f);
  const torch::Tensor w = (r / 2 + 1).clamp_min(0);
  return r * w - (w - 1).pow(2);
}

torch::Tensor odice_f_prime_inverse(const torch::Tensor& r, const std::string& f) {
  if (f == "reverse_kl") return (r - 1).exp();
  TORCH_CHECK(f == "pearson_chi2", "odice: unknown f-divergence ", f);
  return r.clamp_min(0);
}

torch::Tensor odice_residual(const torch::Tensor& returns, const torch::Tensor& discount, const torch::Tensor& next_v,
                             const torch::Tensor& v) {
  return returns + discount * next_v - v;
}

OdiceValueLosses odice_value_losses(const torch::Tensor& returns, const torch::Tensor& discount,
                                    const torch::Tensor& v, const torch::Tensor& next_v,
                                    const torch::Tensor& target_v, const torch::Tensor& target_next_v,
                                    double lambda, double eta, const std::string& f) {
  const torch::Tensor fwd = odice_residual(returns, discount, target_next_v.detach(), v);   // (K, B)
  const torch::Tensor bwd = odice_residual(returns, discount, next_v, target_v.detach());   // (K, B)
  const torch::Tensor both = odice_residual(returns, discount, next_v, v);                  // (K, B)
  OdiceValueLosses out;
  out.linear = ((1 - lambda) * v).mean();
  out.forward = (lambda * odice_f_star(fwd, f)).mean();
  out.backward = (lambda * eta * odice_f_star(bwd, f)).mean();
  out.true_dual = (lambda * odice_f_star(both, f)).mean();
  out.forward_residual = fwd.detach();
  return out;
}

std::vector<torch::Tensor> odice_orthogonal_combine(const std::vector<torch::Tensor>& g_forward,
                                                    const std::vector<torch::Tensor>& g_backward, double* parallel) {
  TORCH_CHECK(g_forward.size() == g_backward.size(), "odice: ", g_forward.size(), " forward vs ", g_backward.size(),
              " backward gradients");
  double dot = 0, norm2 = 0;  // accumulated in double over the parameters
  for (size_t i = 0; i < g_forward.size(); ++i) {
    dot += (g_forward[i].to(torch::kFloat64) * g_backward[i].to(torch::kFloat64)).sum().item<double>();
    norm2 += g_forward[i].to(torch::kFloat64).pow(2).sum().item<double>();
  }
  const double c = dot / std::max(norm2, 1e-10);
  if (parallel) *parallel = c;
  std::vector<torch::Tensor> out;
  out.reserve(g_forward.size());
  for (size_t i = 0; i < g_forward.size(); ++i) out.push_back(g_forward[i] * (1 - c) + g_backward[i]);
  return out;
}

namespace {
std::vector<torch::Tensor> grads_of(const torch::Tensor& loss, const std::vector<torch::Tensor>& params, bool retain) {
  std::vector<torch::Tensor> g = torch::autograd::grad({loss}, params, /*grad_outputs=*/{}, /*retain_graph=*/retain,
                                                       /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t i = 0; i < g.size(); ++i)
    if (!g[i].defined()) g[i] = torch::zeros_like(params[i]);
  return g;
}
}  // namespace

double odice_value_gradient(const std::vector<torch::Tensor>& params, const OdiceValueLosses& losses,
                            const std::string& gradient) {
  std::vector<torch::Tensor> g;
  double parallel = 0;
  if (gradient == "orthogonal") {
    const auto gl = grads_of(losses.linear, params, true);
    const auto gf = grads_of(losses.forward, params, true);
    const auto gb = grads_of(losses.backward, params, true);
    g = odice_orthogonal_combine(gf, gb, &parallel);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] + gl[i];
  } else if (gradient == "true") {
    g = grads_of(losses.linear + losses.true_dual, params, true);
  } else {
    TORCH_CHECK(gradient == "semi", "odice: unknown gradient ", gradient);
    g = grads_of(losses.linear + losses.forward, params, true);
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor p = params[i];
    p.mutable_grad() = g[i].detach().clone();
  }
  return parallel;
}

torch::Tensor odice_policy_loss(const torch::Tensor& logp, const torch::Tensor& forward_residual, const std::string& f,
                                double max_weight) {
  torch::Tensor w = odice_f_prime_inverse(forward_residual.detach(), f).clamp_max(max_weight);  // (K, B) or (B)
  if (w.dim() == 2) w = w.mean(0);
  return -(w * logp).mean();
}

// ---- the trainer ---------------------------------------------------------------------------------

namespace metric {
inline constexpr const char* kOdiceParallel = "odice/parallel_coef";   // g_f·g_b / ‖g_f‖²
inline constexpr const char* kOdiceResidual = "odice/td_mean";         // mean forward residual
inline constexpr const char* kOdiceWeight = "odice/weight_mean";       // mean behaviour-cloning weight
inline constexpr const char* kOdiceForward = "odice/forward_loss";     // mean λ f*(forward residual)
inline constexpr const char* kOdicePolicyLoss = "odice/policy_loss";   // −mean w log π(a|s)
}  // namespace metric

namespace {

OfflineOptions odice_defaults() {
  OfflineOptions o;  // configs/offline_RL.yaml and main_odice_rl.py of the authors' code
  o.batch_size = 256;
  o.gamma = 0.99;
  o.normalize_observations = false;
  o.normalize_rewards = true;
  return o;
}

// K value heads s -> (Linear -> [LayerNorm] -> ReLU)* -> Linear, the authors' util.mlp.
class ValueHeadsImpl : public torch::nn::Module {
 public:
  ValueHeadsImpl(int64_t obs_dim, int64_t heads, const std::vector<int64_t>& hidden, bool layer_norm) {
    for (int64_t k = 0; k < heads; ++k) {
      torch::nn::Sequential s;
      int64_t width = obs_dim;
      for (int64_t h : hidden) {
        s->push_back(torch::nn::Linear(width, h));
        if (layer_norm) s->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
        s->push_back(torch::nn::ReLU());
        width = h;
      }
      s->push_back(torch::nn::Linear(width, 1));
      heads_.push_back(register_module("v" + std::to_string(k + 1), s));
    }
  }
  torch::Tensor all(const torch::Tensor& obs) {  // (K, B)
    std::vector<torch::Tensor> v;
    for (auto& h : heads_) v.push_back(h->forward(obs).squeeze(1));
    return torch::stack(v);
  }
  torch::Tensor forward(const torch::Tensor& obs) { return std::get<0>(all(obs).min(0)); }  // (B)
  std::vector<torch::nn::Sequential> heads_;
};
TORCH_MODULE(ValueHeads);

// The authors' GaussianPolicy: mean = MLP(s) (no squashing), a state-independent log σ clamped to
// [−5, 2]; log π(a|s) = Σ_i log N(a_i; mean_i, σ_i²).
class GaussianPolicyImpl : public torch::nn::Module {
 public:
  GaussianPolicyImpl(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden) {
    net = register_module("net", offpolicy::relu_mlp(obs_dim, hidden, act_dim));
    log_std = register_parameter("log_std", torch::zeros({act_dim}));
  }
  torch::Tensor mean(const torch::Tensor& obs) { return net->forward(obs); }  // (B, A)
  torch::Tensor clipped_log_std() { return log_std.clamp(-5.0, 2.0); }          // (A)
  torch::Tensor log_prob(const torch::Tensor& obs, const torch::Tensor& act) {  // (B)
    const torch::Tensor ls = clipped_log_std();
    const torch::Tensor z = (act - mean(obs)) * torch::exp(-ls);
    return (-0.5 * z.pow(2) - ls - 0.5 * std::log(2 * M_PI)).sum(1);
  }
  torch::nn::Sequential net{nullptr};
  torch::Tensor log_std;  // (A)
};
TORCH_MODULE(GaussianPolicy);

class OdiceTrainer : public OfflineRun {
 public:
  OdiceTrainer(const core::Recipe& recipe, const RunContext& ctx) : OfflineRun(recipe, ctx, odice_defaults(), "odice") {
    opts_ = core::read_options<OdiceOptions>(recipe, "odice");
    recipe.check_all_used();
    low_t_ = action_low();
    high_t_ = action_high();
    const int64_t heads = opts_.twin_v ? 2 : 1;
    vf_ = ValueHeads(obs_dim_, heads, opts_.value_hidden, opts_.layer_norm);
    vf_target_ = ValueHeads(obs_dim_, heads, opts_.value_hidden, opts_.layer_norm);
    offpolicy::polyak_update(vf_target_->parameters(), vf_->parameters(), 1.0);
    policy_ = GaussianPolicy(obs_dim_, act_dim_, opts_.policy_hidden);
    v_opt_ = std::make_unique<torch::optim::Adam>(vf_->parameters(), torch::optim::AdamOptions(opts_.value_learning_rate));
    policy_opt_ = std::make_unique<torch::optim::Adam>(
        policy_->parameters(),
        torch::optim::AdamOptions(opts_.policy_learning_rate).weight_decay(opts_.policy_weight_decay));
    declare_metrics({metric::kValues, metric::kOdiceForward, metric::kOdiceResidual, metric::kOdiceParallel,
                     metric::kOdiceWeight, metric::kOdicePolicyLoss});
    toml::table own;
    core::write_options(opts_, &own, "odice");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  // the mean, clipped to the box (the authors' act(deterministic=True) clips to [−1, 1])
  torch::Tensor act(const torch::Tensor& obs) override {
    return torch::max(torch::min(policy_->mean(obs), high_t_), low_t_);
  }

  // a sample of the Gaussian, clipped to the box
  bool can_explore() const override { return true; }
  torch::Tensor explore(const torch::Tensor& obs) override {
    const torch::Tensor noise = normal_noise(obs.size(0), act_dim_);  // (n, A)
    const torch::Tensor a = policy_->mean(obs) + torch::exp(policy_->clipped_log_std()) * noise;
    return torch::max(torch::min(a, high_t_), low_t_);
  }

  void train_step(const offpolicy::ReplaySample& batch, int64_t /*step_index*/) override {
    torch::Tensor target_v, target_next_v;  // (B)
    {
      torch::NoGradGuard no_grad;
      target_v = vf_target_->forward(batch.obs);
      target_next_v = vf_target_->forward(batch.next_obs);
    }
    const torch::Tensor v = vf_->all(batch.obs), next_v = vf_->all(batch.next_obs);  // (K, B)
    const OdiceValueLosses losses = odice_value_losses(batch.returns, batch.discount, v, next_v, target_v, target_next_v,
                                                       opts_.lambda, opts_.eta, opts_.f_divergence);
    v_opt_->zero_grad();
    const double parallel = odice_value_gradient(vf_->parameters(), losses, opts_.gradient);
    fused_adam_step(*v_opt_);
    offpolicy::polyak_update(vf_target_->parameters(), vf_->parameters(), opts_.tau);
    accumulate(metric::kValues, v.mean().item<double>());
    accumulate(metric::kOdiceForward, losses.forward.item<double>());
    accumulate(metric::kOdiceResidual, losses.forward_residual.mean().item<double>());
    accumulate(metric::kOdiceParallel, parallel);
    accumulate(metric::kOdiceWeight,
               odice_f_prime_inverse(losses.forward_residual, opts_.f_divergence).clamp_max(opts_.max_weight).mean().item<double>());

    const torch::Tensor policy_loss = odice_policy_loss(policy_->log_prob(batch.obs, batch.actions),
                                                        losses.forward_residual, opts_.f_divergence, opts_.max_weight);
    policy_opt_->zero_grad();
    policy_loss.backward();
    fused_adam_step(*policy_opt_);
    accumulate(metric::kOdicePolicyLoss, policy_loss.item<double>());
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "vf", *vf_);
    save_module(w, "vf_target", *vf_target_);
    save_module(w, "policy", *policy_);
    save_optimizer(w, "v_optimizer", *v_opt_);
    save_optimizer(w, "policy_optimizer", *policy_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "vf", *vf_);
    load_module(r, "vf_target", *vf_target_);
    load_module(r, "policy", *policy_);
    load_optimizer(r, "v_optimizer", *v_opt_);
    load_optimizer(r, "policy_optimizer", *policy_opt_);
  }

  OdiceOptions opts_;
  torch::Tensor low_t_, high_t_;  // (A)
  ValueHeads vf_{nullptr}, vf_target_{nullptr};
  GaussianPolicy policy_{nullptr};
  std::unique_ptr<torch::optim::Adam> v_opt_, policy_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_odice_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<OdiceTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline

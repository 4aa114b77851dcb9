#include "rlpp/train/offline/expo.h"

#include <cmath>

#include "rlpp/train/offline/diffusion_policy.h"
#include "rlpp/train/offline/iql.h"
#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offline/q_ensemble.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/sac.h"

namespace rlpp::train::offline {

void ExpoOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("diffusion_steps", diffusion_steps, "T, denoising steps of the base policy's DDPM (VP schedule)",
            Bounds::closed(1, 1000));
  b.integer("time_dim", time_dim, "Fourier features of the diffusion step (even)", Bounds::closed(2, 1 << 16));
  b.integer("base_hidden", base_hidden, "width of the noise predictor's residual trunk", Bounds::closed(1, 1 << 16));
  b.integer("base_blocks", base_blocks, "residual blocks of the noise predictor", Bounds::closed(0, 64));
  b.num("base_lr", base_lr, "AdamW learning rate of the base (diffusion) policy", Bounds::positive());
  b.num("base_weight_decay", base_weight_decay, "AdamW weight decay of the base policy", Bounds::non_negative());
  b.integer("base_lr_decay_steps", base_lr_decay_steps, "base steps of the cosine decay of base_lr",
            Bounds::closed(1, int64_t{1} << 40));
  b.num("base_ema", base_ema, "rate of the EMA copy of the base policy that samples played actions", Bounds::unit());
  b.integer("samples", samples, "N, base actions sampled per state for on-the-fly selection", Bounds::closed(1, 4096));
  b.integer("edit_samples", edit_samples, "M <= N, of the base actions also edited", Bounds::closed(0, 4096));
  b.num("edit_scale", edit_scale, "beta, the largest edit, in units of the action box's half-width", Bounds::positive());
  b.integers("edit_hidden", edit_hidden, "hidden widths of the edit policy (ReLU)", Bounds::closed(1, 1 << 16));
  b.num("edit_lr", edit_lr, "Adam learning rate of the edit policy", Bounds::positive());
  b.integers("critic_hidden", critic_hidden, "hidden widths of each critic (ReLU)", Bounds::closed(1, 1 << 16));
  b.integer("num_qs", num_qs, "critics in the ensemble", Bounds::closed(1, 1024));
  b.integer("num_min_qs", num_min_qs, "critics drawn for each min over the ensemble (<= num_qs)", Bounds::closed(1, 1024));
  b.flag("critic_layer_norm", critic_layer_norm, "LayerNorm after every hidden layer of the critics (RLPD)");
  b.num("critic_lr", critic_lr, "Adam learning rate of the critics", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target critics", Bounds::unit());
  b.num("init_temperature", init_temperature, "initial entropy temperature alpha of the edit policy", Bounds::positive());
  b.num("temperature_lr", temperature_lr, "Adam learning rate of log alpha", Bounds::non_negative());
  b.num("target_entropy_per_dim", target_entropy_per_dim, "target entropy of the edit policy per action component",
        Bounds::closed(-100, 100));
  b.flag("pretrain_q", pretrain_q, "offline phase: also train the critics");
  b.flag("pretrain_edit", pretrain_edit, "offline phase: also train the edit policy and alpha");
  if (edit_samples > samples) b.reject("edit_samples", "= " + std::to_string(edit_samples) + " must be <= expo.samples = " + std::to_string(samples));
  if (num_min_qs > num_qs) b.reject("num_min_qs", "= " + std::to_string(num_min_qs) + " must be <= expo.num_qs = " + std::to_string(num_qs));
  if (time_dim % 2 != 0) b.reject("time_dim", "= " + std::to_string(time_dim) + " must be even (cos and sin halves)");
}

torch::Tensor expo_edit(const torch::Tensor& base, const torch::Tensor& delta, double beta, const torch::Tensor& scale,
                        const torch::Tensor& low, const torch::Tensor& high) {
  return torch::max(torch::min(base + beta * scale * delta, high), low);
}

OtfPick otf_select(const torch::Tensor& q, const torch::Tensor& candidates) {
  const torch::Tensor index = q.argmax(1);  // (B)
  const int64_t a = candidates.size(2);
  const torch::Tensor actions = candidates.gather(1, index.view({-1, 1, 1}).expand({index.size(0), 1, a})).squeeze(1);
  return {actions, index};
}

torch::Tensor expo_td_target(const torch::Tensor& returns, const torch::Tensor& discount, const torch::Tensor& next_q) {
  return returns + discount * std::get<0>(next_q.min(0));
}

torch::Tensor ensemble_critic_loss(const torch::Tensor& q, const torch::Tensor& target) {
  return (q - target.unsqueeze(0)).pow(2).mean();
}

torch::Tensor edit_policy_loss(const torch::Tensor& logp, const torch::Tensor& q, double alpha) {
  return (alpha * logp - q.mean(0)).mean();
}

namespace {

// log α as a module, for the checkpoint.
class TemperatureImpl : public torch::nn::Module {
 public:
  explicit TemperatureImpl(double init) {
    log_alpha = register_parameter("log_alpha", torch::full({1}, std::log(init), torch::kFloat32));
  }
  torch::Tensor log_alpha;  // (1)
};
TORCH_MODULE(Temperature);

OfflineOptions expo_defaults() {
  OfflineOptions o;  // RLPD's train_finetuning.py as EXPO runs it
  o.batch_size = 256;
  o.gamma = 0.99;
  o.updates_per_step = 20;  // utd_ratio
  o.offline_ratio = 0.5;    // symmetric sampling
  return o;
}

class ExpoTrainer : public OfflineRun {
 public:
  ExpoTrainer(const core::Recipe& recipe, const RunContext& ctx) : OfflineRun(recipe, ctx, expo_defaults(), "expo") {
    opts_ = core::read_options<ExpoOptions>(recipe, "expo");
    recipe.check_all_used();
    schedule_ = vp_schedule(opts_.diffusion_steps);
    DiffusionNetOptions net;
    net.time_dim = opts_.time_dim;
    net.hidden = opts_.base_hidden;
    net.blocks = opts_.base_blocks;
    base_ = DiffusionNet(obs_dim_, act_dim_, net);
    base_ema_ = DiffusionNet(obs_dim_, act_dim_, net);
    offpolicy::polyak_update(base_ema_->parameters(), base_->parameters(), 1.0);
    for (auto& p : base_ema_->parameters()) p.set_requires_grad(false);
    edit_ = offpolicy::GaussianActor(obs_dim_ + act_dim_, act_dim_, opts_.edit_hidden);
    critic_ = QEnsemble(opts_.num_qs, obs_dim_, act_dim_, opts_.critic_hidden, opts_.critic_layer_norm);
    critic_target_ = QEnsemble(opts_.num_qs, obs_dim_, act_dim_, opts_.critic_hidden, opts_.critic_layer_norm);
    offpolicy::polyak_update(critic_target_->parameters(), critic_->parameters(), 1.0);
    for (auto& p : critic_target_->parameters()) p.set_requires_grad(false);
    temperature_ = Temperature(opts_.init_temperature);
    base_opt_ = std::make_unique<torch::optim::AdamW>(
        base_->parameters(), torch::optim::AdamWOptions(opts_.base_lr).weight_decay(opts_.base_weight_decay));
    edit_opt_ = std::make_unique<torch::optim::Adam>(edit_->parameters(), torch::optim::AdamOptions(opts_.edit_lr));
    critic_opt_ = std::make_unique<torch::optim::Adam>(critic_->parameters(), torch::optim::AdamOptions(opts_.critic_lr));
    alpha_opt_ = std::make_unique<torch::optim::Adam>(temperature_->parameters(),
                                                      torch::optim::AdamOptions(opts_.temperature_lr));
    scale_ = action_scale();
    bias_ = action_bias();
    low_t_ = action_low();
    high_t_ = action_high();
    target_entropy_ = opts_.target_entropy_per_dim * static_cast<double>(act_dim_);
    offline_steps_ = total_gradient_steps() - off_.online_steps * off_.updates_per_step;
    declare_metrics({metric::kQfLoss, metric::kQf1Values, metric::kDiffusionLoss, metric::kActorLoss, metric::kEditQ,
                     metric::kEditEntropy, metric::kAlpha, metric::kAlphaLoss, metric::kOtfEdited});
    toml::table own;
    core::write_options(opts_, &own, "expo");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  // num_min_qs distinct critic indices drawn from rng_ (a partial Fisher-Yates shuffle).
  torch::Tensor subsample() {
    std::vector<int64_t> all(static_cast<size_t>(opts_.num_qs));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    for (int i = 0; i < opts_.num_min_qs; ++i) {
      const auto j = static_cast<size_t>(i) + rng_.below(static_cast<uint64_t>(opts_.num_qs - i));
      std::swap(all[static_cast<size_t>(i)], all[j]);
    }
    all.resize(static_cast<size_t>(opts_.num_min_qs));
    return torch::tensor(all, torch::kInt64);
  }

  // The OTF candidates of each state: N base samples (from `net`), then edits of the first M.
  // obs (n, obs_dim) -> (n, N + M, A). Called without grad.
  torch::Tensor candidates(DiffusionNet& net, const torch::Tensor& obs) {
    const int64_t n = obs.size(0), N = opts_.samples, M = opts_.edit_samples, T = schedule_.steps();
    const torch::Tensor noise = normal_noise((T + 1) * n * N, act_dim_).view({T + 1, n * N, act_dim_});
    const torch::Tensor base =
        (ddpm_sample(net, obs.repeat_interleave(N, 0), schedule_, noise) * scale_ + bias_).view({n, N, act_dim_});
    if (M == 0) return base;
    const torch::Tensor to_edit = base.narrow(1, 0, M).reshape({n * M, act_dim_});
    const torch::Tensor obs_m = obs.repeat_interleave(M, 0);
    const auto [mean, log_std] = edit_->forward(torch::cat({obs_m, to_edit}, -1));
    const torch::Tensor delta = torch::tanh(mean + log_std.exp() * normal_noise(n * M, act_dim_));
    const torch::Tensor edited = expo_edit(to_edit, delta, opts_.edit_scale, scale_, low_t_, high_t_);
    return torch::cat({base, edited.view({n, M, act_dim_})}, 1);
  }

  // The candidate of largest min over num_min_qs drawn target critics. obs (n, obs_dim); cands (n, K, A).
  OtfPick select(const torch::Tensor& obs, const torch::Tensor& cands) {
    const int64_t n = cands.size(0), K = cands.size(1);
    const torch::Tensor q = critic_target_->forward_members(obs.repeat_interleave(K, 0), cands.reshape({n * K, act_dim_}),
                                                            subsample());  // (k, n K)
    return otf_select(std::get<0>(q.min(0)).view({n, K}), cands);
  }

  torch::Tensor act(const torch::Tensor& obs) override { return select(obs, candidates(base_ema_, obs)).actions; }
  bool can_explore() const override { return true; }
  torch::Tensor explore(const torch::Tensor& obs) override { return act(obs); }

  void critic_step(const offpolicy::ReplaySample& batch) {
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const OtfPick next = select(batch.next_obs, candidates(base_, batch.next_obs));
      target = expo_td_target(batch.returns, batch.discount,
                              critic_target_->forward_members(batch.next_obs, next.actions, subsample()));
      accumulate(metric::kOtfEdited, (next.index >= opts_.samples).to(torch::kFloat64).mean().item<double>());
    }
    const torch::Tensor q = critic_->forward(batch.obs, batch.actions);  // (E, B)
    const torch::Tensor loss = ensemble_critic_loss(q, target);
    critic_opt_->zero_grad();
    loss.backward();
    critic_opt_->step();
    offpolicy::polyak_update(critic_target_->parameters(), critic_->parameters(), opts_.tau);
    accumulate(metric::kQfLoss, loss.item<double>());
    accumulate(metric::kQf1Values, q.mean().item<double>());
  }

  void base_step(const offpolicy::ReplaySample& batch, int64_t base_steps_done) {
    const int64_t B = batch.obs.size(0), T = schedule_.steps();
    std::vector<int64_t> steps(static_cast<size_t>(B));
    for (int64_t& t : steps) t = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(T)));
    const torch::Tensor t = torch::tensor(steps, torch::kInt64);
    const torch::Tensor eps = normal_noise(B, act_dim_);
    const torch::Tensor a0 = (batch.actions - bias_) / scale_;  // the box onto [−1, 1]
    const torch::Tensor noisy = ddpm_noisy_actions(a0, eps, schedule_.alpha_hats.index_select(0, t));
    const torch::Tensor loss =
        diffusion_loss(base_->forward(batch.obs, noisy, t.to(torch::kFloat32).unsqueeze(1)), eps);
    static_cast<torch::optim::AdamWOptions&>(base_opt_->param_groups()[0].options())
        .lr(cosine_decay(opts_.base_lr, base_steps_done, opts_.base_lr_decay_steps));
    base_opt_->zero_grad();
    loss.backward();
    base_opt_->step();
    offpolicy::polyak_update(base_ema_->parameters(), base_->parameters(), opts_.base_ema);
    accumulate(metric::kDiffusionLoss, loss.item<double>());
  }

  void edit_step(const offpolicy::ReplaySample& batch) {
    const int64_t B = batch.obs.size(0);
    const auto [mean, log_std] = edit_->forward(torch::cat({batch.obs, batch.actions}, -1));
    // δ β: the squashed sample on the box (−β, β); its log-density has the −A log β of the scaling
    const torch::Tensor beta = torch::full({act_dim_}, opts_.edit_scale, torch::kFloat32);
    const offpolicy::SquashedSample s =
        offpolicy::squashed_gaussian(mean, log_std, normal_noise(B, act_dim_), beta, torch::zeros({act_dim_}));
    const torch::Tensor q = critic_->forward(batch.obs, batch.actions + s.action * scale_);  // (E, B)
    const double alpha = temperature_->log_alpha.detach().exp().item<double>();
    const torch::Tensor loss = edit_policy_loss(s.logp, q, alpha);
    edit_opt_->zero_grad();
    loss.backward();
    edit_opt_->step();
    const torch::Tensor alpha_loss = offpolicy::sac_alpha_loss(temperature_->log_alpha, s.logp.detach(), target_entropy_);
    alpha_opt_->zero_grad();
    alpha_loss.backward();
    alpha_opt_->step();
    accumulate(metric::kActorLoss, loss.item<double>());
    accumulate(metric::kEditQ, q.mean().item<double>());
    accumulate(metric::kEditEntropy, -s.logp.mean().item<double>());
    accumulate(metric::kAlpha, alpha);
    accumulate(metric::kAlphaLoss, alpha_loss.item<double>());
  }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    const bool online = step_index >= offline_steps_;
    const int64_t utd = off_.updates_per_step;
    if (online || opts_.pretrain_q) critic_step(batch);
    // online: the policies after the last of each env step's updates_per_step critic steps
    const int64_t online_done = online ? step_index - offline_steps_ : 0;
    if (online && (online_done + 1) % utd != 0) return;
    base_step(batch, std::min(step_index, offline_steps_) + online_done / utd);
    if (online || opts_.pretrain_edit) edit_step(batch);
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "base", *base_);
    save_module(w, "base_ema", *base_ema_);
    save_module(w, "edit", *edit_);
    save_module(w, "critic", *critic_);
    save_module(w, "critic_target", *critic_target_);
    save_module(w, "temperature", *temperature_);
    save_optimizer(w, "base_optimizer", *base_opt_);
    save_optimizer(w, "edit_optimizer", *edit_opt_);
    save_optimizer(w, "critic_optimizer", *critic_opt_);
    save_optimizer(w, "temperature_optimizer", *alpha_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "base", *base_);
    load_module(r, "base_ema", *base_ema_);
    load_module(r, "edit", *edit_);
    load_module(r, "critic", *critic_);
    load_module(r, "critic_target", *critic_target_);
    load_module(r, "temperature", *temperature_);
    load_optimizer(r, "base_optimizer", *base_opt_);
    load_optimizer(r, "edit_optimizer", *edit_opt_);
    load_optimizer(r, "critic_optimizer", *critic_opt_);
    load_optimizer(r, "temperature_optimizer", *alpha_opt_);
  }

  ExpoOptions opts_;
  DiffusionSchedule schedule_;
  DiffusionNet base_{nullptr}, base_ema_{nullptr};
  offpolicy::GaussianActor edit_{nullptr};
  QEnsemble critic_{nullptr}, critic_target_{nullptr};
  Temperature temperature_{nullptr};
  std::unique_ptr<torch::optim::AdamW> base_opt_;
  std::unique_ptr<torch::optim::Adam> edit_opt_, critic_opt_, alpha_opt_;
  torch::Tensor scale_, bias_, low_t_, high_t_;  // (A)
  double target_entropy_ = 0;
  int64_t offline_steps_ = 0;  // gradient steps of the offline phase
};

}  // namespace

std::unique_ptr<Trainer> make_expo_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<ExpoTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline

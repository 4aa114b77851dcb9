#include "rlpp/train/torch_actor_critic_learner.h"

#include <cmath>

#include "rlpp/algo/normalize.h"
#include "rlpp/algo/objective.h"
#include "rlpp/algo/objectives/ppo_clip.h"
#include "rlpp/algo/value_loss.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/nn/action_sampling.h"

namespace rlpp::train {

TorchActorCriticLearner::TorchActorCriticLearner(const LearnerConfig& config) : config_(config) {
  model_ = nn::ActorCritic(config.obs_dim, config.act_dim, config.discrete, config.policy);
  optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->parameters(), torch::optim::AdamOptions(1e-3).eps(config.adam_eps));
}

static torch::Tensor view(const float* p, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(p), shape, torch::kFloat32);
}

void TorchActorCriticLearner::act(const float* obs, int64_t n, core::Rng& rng, bool deterministic,
                                  float* actions, float* logp, float* value) {
  torch::NoGradGuard no_grad;
  const torch::Tensor o = view(obs, {n, config_.obs_dim});
  const torch::Tensor out = model_->actor_out(o).contiguous();  // (n, A)
  const torch::Tensor v = model_->value(o).contiguous();        // (n)
  std::copy_n(v.data_ptr<float>(), n, value);
  if (config_.discrete) {
    nn::sample_categorical(out.data_ptr<float>(), n, config_.act_dim, rng, deterministic, actions, logp);
  } else {
    const torch::Tensor log_std = model_->log_std.contiguous();
    nn::sample_gaussian(out.data_ptr<float>(), log_std.data_ptr<float>(), n, config_.act_dim, rng,
                        deterministic, actions, logp);
  }
}

void TorchActorCriticLearner::value(const float* obs, int64_t n, float* value) {
  torch::NoGradGuard no_grad;
  const torch::Tensor v = model_->value(view(obs, {n, config_.obs_dim})).contiguous();
  std::copy_n(v.data_ptr<float>(), n, value);
}

UpdateStats TorchActorCriticLearner::update(const ControlMinibatch& mb, const PpoLossOptions& opts, double lr) {
  const int64_t m = mb.size;
  const torch::Tensor obs = view(mb.obs, {m, config_.obs_dim});
  const torch::Tensor actions = config_.discrete ? view(mb.actions, {m}).to(torch::kInt64)
                                                 : view(mb.actions, {m, config_.act_dim});
  auto [logp, entropy] = model_->log_prob_entropy(obs, actions);  // (M), (M)
  const torch::Tensor value = model_->value(obs);                 // (M)

  torch::Tensor adv = view(mb.advantages, {m});
  if (opts.norm_adv) {
    adv = std::isnan(opts.adv_mean) ? algo::normalize_advantages(adv)
                                    : ((adv.to(torch::kDouble) - opts.adv_mean) / (opts.adv_std + algo::kAdvantageNormEps))
                                          .to(torch::kFloat32);
  }

  algo::PolicyLossInput in;
  in.logp = logp;
  in.logp_old = view(mb.logp_old, {m});
  in.advantages = adv;
  algo::ObjectiveOutput pg;
  if (opts.objective) {
    in.entropy = entropy.detach();
    // the minibatch is the whole batch of this optimizer step (this rank's share of it when
    // data-parallel: prepare()'s statistics are then this rank's)
    opts.objective->prepare(in);
    pg = opts.objective->compute(in);
  } else {
    algo::PpoClipOptions clip;
    clip.eps_low = clip.eps_high = opts.clip_coef;
    pg = algo::ppo_clip_loss(in, clip);
  }
  const torch::Tensor pg_loss = pg.token_loss.mean();  // token-mean over the minibatch (CleanRL)

  algo::ValueLossOptions vo;
  vo.clip = opts.clip_vloss;
  vo.clip_coef = opts.clip_coef;
  const torch::Tensor v_loss = algo::value_loss(value, view(mb.returns, {m}), view(mb.values_old, {m}), vo);
  const torch::Tensor ent = entropy.mean();
  const torch::Tensor loss = pg_loss - opts.ent_coef * ent + opts.vf_coef * v_loss;

  optimizer_->zero_grad();
  loss.backward();
  if (opts.comm) dist::average_gradients(*opts.comm, model_->parameters());
  const double grad_norm = torch::nn::utils::clip_grad_norm_(model_->parameters(), opts.max_grad_norm);
  for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  optimizer_->step();

  torch::NoGradGuard no_grad;
  const torch::Tensor logratio = logp.detach() - in.logp_old;
  const torch::Tensor ratio = logratio.exp();
  UpdateStats s;
  s.policy_loss = pg_loss.item<double>();
  s.value_loss = v_loss.item<double>();
  s.entropy = ent.item<double>();
  s.old_approx_kl = (-logratio).mean().item<double>();
  s.approx_kl = ((ratio - 1) - logratio).mean().item<double>();
  s.clipfrac = opts.objective ? pg.metrics.at(algo::metric::kClipFrac).item<double>()
                             : ((ratio - 1.0).abs() > opts.clip_coef).to(torch::kFloat64).mean().item<double>();
  s.grad_norm = grad_norm;
  return s;
}

std::vector<torch::Tensor> TorchActorCriticLearner::weights() { return model_->parameters(); }

void TorchActorCriticLearner::save(torch::serialize::OutputArchive& archive) {
  torch::serialize::OutputArchive model, optim;
  model_->save(model);
  optimizer_->save(optim);
  archive.write("model", model);
  archive.write("optim", optim);
}

void TorchActorCriticLearner::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive model, optim;
  archive.read("model", model);
  archive.read("optim", optim);
  model_->load(model);
  optimizer_->load(optim);
}

}  // namespace rlpp::train

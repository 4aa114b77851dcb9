#include "rlpp/train/offline/td3_offline_run.h"

#include "rlpp/train/offpolicy/td3.h"

namespace rlpp::train::offline {

void Td3OfflineRun::build_td3_networks(const std::vector<int64_t>& actor_hidden,
                                       const std::vector<int64_t>& critic_hidden, double learning_rate) {
  scale_ = action_scale();
  low_t_ = action_low();
  high_t_ = action_high();
  actor_ = offpolicy::DeterministicActor(obs_dim_, act_dim_, actor_hidden, scale_, action_bias());
  actor_target_ = offpolicy::DeterministicActor(obs_dim_, act_dim_, actor_hidden, scale_, action_bias());
  qf1_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, critic_hidden);
  qf2_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, critic_hidden);
  qf1_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, critic_hidden);
  qf2_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, critic_hidden);
  offpolicy::polyak_update(actor_target_->parameters(), actor_->parameters(), 1.0);
  offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
  offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
  std::vector<torch::Tensor> q_params = qf1_->parameters();
  for (const auto& p : qf2_->parameters()) q_params.push_back(p);
  q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(learning_rate));
  actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(learning_rate));
}

torch::Tensor Td3OfflineRun::smoothed_next_action(const offpolicy::ReplaySample& batch, double policy_noise,
                                                  double noise_clip) {
  torch::NoGradGuard no_grad;
  return offpolicy::td3_target_action(actor_target_->forward(batch.next_obs), normal_noise(batch.obs.size(0), act_dim_),
                                      policy_noise, noise_clip, scale_, low_t_, high_t_);
}

torch::Tensor Td3OfflineRun::explore(const torch::Tensor& obs) {
  const torch::Tensor eps = normal_noise(obs.size(0), act_dim_);  // (n, A)
  const torch::Tensor a = actor_->forward(obs) + eps * (scale_ * exploration_noise_);
  return torch::max(torch::min(a, high_t_), low_t_);
}

void Td3OfflineRun::critic_step(const offpolicy::ReplaySample& batch, const torch::Tensor& target) {
  const torch::Tensor q1 = qf1_->forward(batch.obs, batch.actions), q2 = qf2_->forward(batch.obs, batch.actions);
  const torch::Tensor qf_loss = offpolicy::twin_critic_loss(q1, q2, target, batch.weights);
  q_opt_->zero_grad();
  qf_loss.backward();
  q_opt_->step();
  accumulate(metric::kQf1Values, q1.mean().item<double>());
  accumulate(metric::kQfLoss, qf_loss.item<double>());
}

void Td3OfflineRun::update_targets(double tau) {
  offpolicy::polyak_update(actor_target_->parameters(), actor_->parameters(), tau);
  offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), tau);
  offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), tau);
}

void Td3OfflineRun::save_td3_networks(CheckpointWriter& w) {
  save_module(w, "actor", *actor_);
  save_module(w, "qf1", *qf1_);
  save_module(w, "qf2", *qf2_);
  save_module(w, "actor_target", *actor_target_);
  save_module(w, "qf1_target", *qf1_target_);
  save_module(w, "qf2_target", *qf2_target_);
  save_optimizer(w, "q_optimizer", *q_opt_);
  save_optimizer(w, "actor_optimizer", *actor_opt_);
}

void Td3OfflineRun::load_td3_networks(CheckpointReader& r) {
  load_module(r, "actor", *actor_);
  load_module(r, "qf1", *qf1_);
  load_module(r, "qf2", *qf2_);
  load_module(r, "actor_target", *actor_target_);
  load_module(r, "qf1_target", *qf1_target_);
  load_module(r, "qf2_target", *qf2_target_);
  load_optimizer(r, "q_optimizer", *q_opt_);
  load_optimizer(r, "actor_optimizer", *actor_opt_);
}

}  // namespace rlpp::train::offline

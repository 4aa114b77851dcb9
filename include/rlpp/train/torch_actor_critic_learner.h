// The LibTorch reference implementation of ActorCriticLearner: nn::ActorCritic + Adam, with the
// loss assembled from the algo library (ppo_clip, value_loss, normalize_advantages) by autograd.
#pragma once
#include <torch/torch.h>

#include "rlpp/nn/actor_critic.h"
#include "rlpp/train/actor_critic_learner.h"

namespace rlpp::train {

class TorchActorCriticLearner : public ActorCriticLearner {
 public:
  explicit TorchActorCriticLearner(const LearnerConfig& config);

  void act(const float* obs, int64_t n, core::Rng& rng, bool deterministic, float* actions, float* logp,
           float* value) override;
  void value(const float* obs, int64_t n, float* value) override;
  UpdateStats update(const ControlMinibatch& mb, const PpoLossOptions& opts, double lr) override;
  bool accepts_objectives() const override { return true; }
  std::vector<torch::Tensor> weights() override;
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  nn::ActorCritic& model() { return model_; }
  torch::optim::Adam& optimizer() { return *optimizer_; }

 private:
  LearnerConfig config_;
  nn::ActorCritic model_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace rlpp::train

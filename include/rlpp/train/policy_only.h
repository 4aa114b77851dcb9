// A deterministic policy behind the ActorCriticLearner interface that evaluate_control_policy
// drives (control_eval.h): it only acts. The off-policy and offline trainers evaluate through it.
#pragma once
#include <algorithm>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "rlpp/train/actor_critic_learner.h"

namespace rlpp::train {

class PolicyOnly : public ActorCriticLearner {
 public:
  // obs (n, obs_dim) -> actions (n, act_flat)
  using Act = std::function<void(const float*, int64_t, float*)>;
  explicit PolicyOnly(Act act) : act_(std::move(act)) {}
  void act(const float* obs, int64_t n, core::Rng&, bool, float* actions, float* logp, float* value) override {
    act_(obs, n, actions);
    std::fill_n(logp, n, 0.f);
    std::fill_n(value, n, 0.f);
  }
  void value(const float*, int64_t n, float* value) override { std::fill_n(value, n, 0.f); }
  UpdateStats update(const ControlMinibatch&, const PpoLossOptions&, double) override {
    throw std::logic_error("PolicyOnly::update: evaluation only");
  }
  bool accepts_objectives() const override { return false; }
  std::vector<torch::Tensor> weights() override { return {}; }
  void save(torch::serialize::OutputArchive&) override { throw std::logic_error("PolicyOnly::save: evaluation only"); }
  void load(torch::serialize::InputArchive&) override { throw std::logic_error("PolicyOnly::load: evaluation only"); }

 private:
  Act act_;
};

}  // namespace rlpp::train

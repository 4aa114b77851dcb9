#include <functional>

#include "rlpp/core/error.h"
#include "rlpp/core/registry.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/behavior_policy.h"
#include "rlpp/train/fast_actor_critic_learner.h"
#include "rlpp/train/torch_actor_critic_learner.h"

namespace rlpp::train {

namespace {

// A policy.backend: the actor-critic learner and PROPS's behaviour policy on the same path.
struct Backend {
  std::function<std::unique_ptr<ActorCriticLearner>(const LearnerConfig&)> learner;
  std::function<std::unique_ptr<BehaviorPolicy>(const LearnerConfig&, nn::ActorCritic)> behavior;
};

template <class Learner>
std::unique_ptr<ActorCriticLearner> make(const LearnerConfig& c) {
  return std::make_unique<Learner>(c);
}

const core::Registry<Backend>& backend_registry() {
  static const core::Registry<Backend> registry = [] {
    core::Registry<Backend> r("policy.backend");
    r.add("fast", {make<FastActorCriticLearner>, make_fast_behavior_policy},
          "fused CPU path: flat parameters, hand-written backward and Adam");
    r.add("torch", {make<TorchActorCriticLearner>, make_torch_behavior_policy}, "LibTorch reference path (any [objective])");
    return r;
  }();
  return registry;
}

}  // namespace

std::unique_ptr<ActorCriticLearner> make_actor_critic_learner(const LearnerConfig& config) {
  return backend_registry().get(config.policy.backend).learner(config);
}

std::unique_ptr<BehaviorPolicy> make_behavior_policy(const LearnerConfig& config, nn::ActorCritic init) {
  return backend_registry().get(config.policy.backend).behavior(config, std::move(init));
}

}  // namespace rlpp::train

#include <functional>

#include "rlpp/core/error.h"
#include "rlpp/core/registry.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/fast_actor_critic_learner.h"
#include "rlpp/train/torch_actor_critic_learner.h"

namespace rlpp::train {

namespace {

using LearnerFactory = std::function<std::unique_ptr<ActorCriticLearner>(const LearnerConfig&)>;

template <class Learner>
LearnerFactory learner() {
  return [](const LearnerConfig& c) -> std::unique_ptr<ActorCriticLearner> { return std::make_unique<Learner>(c); };
}

const core::Registry<LearnerFactory>& learner_registry() {
  static const core::Registry<LearnerFactory> registry = [] {
    core::Registry<LearnerFactory> r("policy.backend");
    r.add("fast", learner<FastActorCriticLearner>(), "fused CPU path: flat parameters, hand-written backward and Adam");
    r.add("torch", learner<TorchActorCriticLearner>(), "LibTorch reference path (any [objective])");
    return r;
  }();
  return registry;
}

}  // namespace

std::unique_ptr<ActorCriticLearner> make_actor_critic_learner(const LearnerConfig& config) {
  return learner_registry().get(config.policy.backend)(config);
}

}  // namespace rlpp::train

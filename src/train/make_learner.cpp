#include "rlpp/core/error.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/fast_actor_critic_learner.h"
#include "rlpp/train/torch_actor_critic_learner.h"

namespace rlpp::train {

std::unique_ptr<ActorCriticLearner> make_actor_critic_learner(const LearnerConfig& config) {
  const std::string& backend = config.policy.backend;
  if (backend == "fast") return std::make_unique<FastActorCriticLearner>(config);
  if (backend == "torch") return std::make_unique<TorchActorCriticLearner>(config);
  throw core::UserError("policy.backend: expected \"fast\" or \"torch\", got \"" + backend + "\"");
}

}  // namespace rlpp::train

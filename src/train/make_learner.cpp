#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/torch_actor_critic_learner.h"

namespace rlpp::train {

std::unique_ptr<ActorCriticLearner> make_actor_critic_learner(const LearnerConfig& config) {
  // The fast path is added beside this reference; until a backend is available it falls back.
  return std::make_unique<TorchActorCriticLearner>(config);
}

}  // namespace rlpp::train

// Deterministic evaluation of a control policy (`rlpp eval` on a ppo or props run): fresh
// environments from the run's [env] section, the mean action (Gaussian) or argmax (categorical)
// on observations normalised with the run's frozen statistics, `episodes` complete episodes.
#pragma once
#include <functional>

#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/env_section.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train {

// normalize: raw (n, obs_dim) -> policy input (n, obs_dim). Up to 16 copies run at once; each
// counts only episodes begun while fewer than `episodes` had begun, so the result does not depend
// on which copy finishes first.
EvalResult evaluate_control_policy(const EnvSection& env, ActorCriticLearner& learner, int episodes, uint64_t seed,
                                   const std::function<void(const float*, int64_t, float*)>& normalize);

}  // namespace rlpp::train

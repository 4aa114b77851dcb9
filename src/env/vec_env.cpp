#include "rlpp/env/vec_env.h"

namespace rlpp::env {

VecEnv::VecEnv(int num_envs, int64_t obs_dim)
    : num_envs_(num_envs),
      obs_(static_cast<size_t>(num_envs * obs_dim)),
      reward_(num_envs),
      terminated_(num_envs),
      truncated_(num_envs),
      final_obs_(static_cast<size_t>(num_envs * obs_dim)),
      episode_return_(num_envs),
      episode_length_(num_envs) {}

}  // namespace rlpp::env

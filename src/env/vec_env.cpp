#include "rlpp/env/vec_env.h"

#include <cmath>
#include <utility>

#include "rlpp/core/error.h"

namespace rlpp::env {

VecEnv::VecEnv(int num_envs, int64_t obs_dim)
    : num_envs_(num_envs),
      obs_floats_(obs_dim),
      obs_(static_cast<size_t>(num_envs * obs_dim)),
      reward_(num_envs),
      terminated_(num_envs),
      truncated_(num_envs),
      final_obs_(static_cast<size_t>(num_envs * obs_dim)),
      episode_return_(num_envs),
      episode_length_(num_envs) {}

void check_vec_env_options(const VecEnvOptions& opts, const std::string& env_id) {
  core::require(opts.num_envs >= 1,
                env_id + ": num_envs must be >= 1, got " + std::to_string(opts.num_envs));
  core::require(opts.num_threads >= 1,
                env_id + ": num_threads must be >= 1, got " + std::to_string(opts.num_threads));
  for (const auto& [name, v] : {std::pair<const char*, double>{"gravity_scale", opts.gravity_scale},
                                 std::pair<const char*, double>{"friction_scale", opts.friction_scale}}) {
    core::require(std::isfinite(v) && v > 0.0,
                  env_id + ": " + name + " must be a finite number > 0, got " + std::to_string(v));
  }
  core::require(std::isfinite(opts.action_noise_std) && opts.action_noise_std >= 0.0,
                env_id + ": action_noise_std must be a finite number >= 0, got " + std::to_string(opts.action_noise_std));
}

}  // namespace rlpp::env

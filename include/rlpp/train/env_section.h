// The [env] section of a control recipe.
#pragma once
#include <memory>
#include <string>

#include "rlpp/core/config.h"
#include "rlpp/env/vec_env.h"

namespace rlpp::train {

struct EnvSection {
  std::string name = "CartPole-v1";  // the Gymnasium id (rlpp list envs)
  int num_envs = 4;
  int num_threads = 1;
  bool clip_action = true;  // env::VecEnvOptions::clip_action
  double gravity_scale = 1.0;   // env::VecEnvOptions: a shifted simulator (MuJoCo only; 1 = the exact model)
  double friction_scale = 1.0;
  double action_noise_std = 0.0;  // env::VecEnvOptions: H2O's joint noise on the executed action (MuJoCo only)

  void bind(core::Binder& b);
  // A new batch of environments as this section describes (unknown name -> UserError).
  std::unique_ptr<env::VecEnv> make(int num_envs_override = 0) const;
};

// The [env] section of `recipe` (the earlier key `id` is refused, naming `name`).
EnvSection read_env_section(const core::Recipe& recipe);

}  // namespace rlpp::train

#include "rlpp/train/env_section.h"

#include "rlpp/core/error.h"
#include "rlpp/env/registry.h"

namespace rlpp::train {

void EnvSection::bind(core::Binder& b) {
  b.text("name", name, "environment: its Gymnasium id (rlpp list envs)");
  b.integer("num_envs", num_envs, "environment copies stepped together", core::Bounds::closed(1, 1 << 20));
  b.integer("num_threads", num_threads, "threads stepping the copies", core::Bounds::closed(1, 256));
  b.flag("clip_action", clip_action,
         "clip Box actions to the box before the environment (Gymnasium's ClipAction wrapper, as "
         "CleanRL); false: the environment gets and penalises the raw action, as a bare Gymnasium env");
  b.num("gravity_scale", gravity_scale,
         "MuJoCo only: multiply the model's gravity (a simulator with shifted dynamics, H2O arXiv 2206.13464); "
         "1 = the exact model",
         core::Bounds::closed(0.01, 100));
  b.num("friction_scale", friction_scale,
         "MuJoCo only: multiply every geom's friction (a simulator with shifted dynamics); 1 = the exact model",
         core::Bounds::closed(0.01, 100));
  b.num("action_noise_std", action_noise_std,
         "MuJoCo only: std of the Gaussian noise added to every action component the environment executes "
         "(H2O's joint-noise simulator); the trainer records the action it chose; 0 = none",
         core::Bounds::closed(0, 10));
  // An unknown name: an error naming the key (and where it was set) and listing the valid ids.
  if (b.mode() == core::Binder::Mode::kRead && !env::registry().contains(name)) {
    try {
      env::registry().get(name);
    } catch (const core::UserError& e) {
      b.reject("name", std::string("is invalid: ") + e.what());
    }
  }
}

EnvSection read_env_section(const core::Recipe& recipe) {
  // `id` (Gymnasium's word) was the key before every component was picked by `name`.
  core::require(!recipe.table().at_path("env.id"),
                recipe.origin("env.id") + ": env.id is now spelled env.name (the Gymnasium id, e.g. name = \"CartPole-v1\")");
  return core::read_options<EnvSection>(recipe, "env");
}

std::unique_ptr<env::VecEnv> EnvSection::make(int num_envs_override) const {
  env::VecEnvOptions opts;
  opts.num_envs = num_envs_override > 0 ? num_envs_override : num_envs;
  opts.num_threads = num_threads;
  opts.clip_action = clip_action;
  opts.gravity_scale = gravity_scale;
  opts.friction_scale = friction_scale;
  opts.action_noise_std = action_noise_std;
  return env::make(name, opts);
}

}  // namespace rlpp::train

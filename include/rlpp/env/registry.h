// The environment registry: Gymnasium ids -> batch factories. `rlpp list` prints it; recipes name
// an id in [env].
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "rlpp/core/registry.h"
#include "rlpp/env/vec_env.h"

namespace rlpp::env {

using EnvFactory = std::function<std::unique_ptr<VecEnv>(const VecEnvOptions&)>;

// Every registered environment (filled on first use, so static linking never drops an entry).
core::Registry<EnvFactory>& registry();

// A fresh batch of `id` (not yet reset). UserError for an unknown id (listing the valid ones) or
// invalid options (num_envs >= 1, num_threads >= 1).
std::unique_ptr<VecEnv> make(const std::string& id, const VecEnvOptions& opts);

}  // namespace rlpp::env

// The off-policy control trainers, as the algorithm registry (trainer.cpp) builds them.
#pragma once
#include <memory>

#include "rlpp/train/trainer.h"

namespace rlpp::train::offpolicy {

std::unique_ptr<Trainer> make_sac_trainer(const core::Recipe& recipe, const RunContext& ctx);  // sac.cpp
std::unique_ptr<Trainer> make_td3_trainer(const core::Recipe& recipe, const RunContext& ctx);  // td3.cpp
std::unique_ptr<Trainer> make_dqn_trainer(const core::Recipe& recipe, const RunContext& ctx);  // dqn.cpp
std::unique_ptr<Trainer> make_h2o_trainer(const core::Recipe& recipe, const RunContext& ctx);  // h2o.cpp

}  // namespace rlpp::train::offpolicy

// Learning from search as `rlpp train` algorithms (recipes in configs/search_*.toml; every one
// checkpoints each run.checkpoint_every rounds and continues with `rlpp resume`):
//   mcts_dpo    MCTS → sibling step pairs → step-level DPO / IPO → reference refresh (arXiv 2405.00451)
//   mcts_value  MCTS → (state, Q) targets → value head on the shared transformer, MSE(tanh v, Q),
//               jointly with SFT on the verified solutions (AlphaMath, arXiv 2405.03553); evaluated
//               by held-out value MSE and value-guided step-level beam search
//   search_pg   MCTS → every finished solution → policy gradient through the advantage, objective
//               and aggregation registries (the o1 roadmap's PG on D_search, arXiv 2412.14135)
#pragma once
#include <memory>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::search {

// Adds the three algorithms to train::algorithm_registry() (once; later calls do nothing).
void register_trainers();

std::unique_ptr<train::Trainer> make_mcts_dpo_trainer(const core::Recipe& recipe, const train::RunContext& ctx);
std::unique_ptr<train::Trainer> make_mcts_value_trainer(const core::Recipe& recipe, const train::RunContext& ctx);
std::unique_ptr<train::Trainer> make_search_pg_trainer(const core::Recipe& recipe, const train::RunContext& ctx);

}  // namespace rlpp::search

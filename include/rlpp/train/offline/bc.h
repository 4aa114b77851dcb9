// Behaviour cloning: a deterministic tanh actor regressed onto the dataset's actions, the BC
// baseline of TD3+BC (Fujimoto & Gu 2021, arXiv 2106.06860) and of CORL's any_percent_bc.py
// (256-256 ReLU, Adam 3e-4, batch 256, observations normalised). Loss pure and tested
// (tests/train/offline/offline_losses_test.cpp).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

// The [bc] section.
struct BcOptions {
  double learning_rate = 3e-4;
  std::vector<int64_t> hidden{256, 256};

  void bind(core::Binder& b);
};

// L = mean_{b,i} (μ_i(s_b) − a_{b,i})²  (F.mse_loss). pred, actions: (B, A).
torch::Tensor bc_loss(const torch::Tensor& pred, const torch::Tensor& actions);

std::unique_ptr<Trainer> make_bc_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline

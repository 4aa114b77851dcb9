// One step of a torch::optim::Adam on its own state, fused into one pass per parameter and
// without temporaries. torch::optim::Adam::step() (LibTorch 1.13, torch/csrc/api/src/optim/adam.cpp)
// makes about ten passes over every parameter and allocates three parameter-sized temporaries
// (g + wd θ, sqrt v, the denominator); for ODICE's 1024-1024 policy and A2PR's 750-750 VAE those
// passes are a visible share of a gradient step. Same formulas, in float, element by element:
//   t ← t + 1;  g ← g + wd θ (weight decay, when set)
//   m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
//   θ ← θ − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
// The state (exp_avg, exp_avg_sq, step) stays the optimizer's, created as step() creates it, so
// save/load, checkpoints and a later step() see the same thing. Parameters without a gradient are
// skipped, as step() does. Float32 contiguous parameters only, no amsgrad (c10::Error otherwise).
// Tested against step() in tests/train/offline/fused_adam_test.cpp.
#pragma once
#include <torch/torch.h>

namespace rlpp::train::offline {

void fused_adam_step(torch::optim::Adam& opt);

}  // namespace rlpp::train::offline

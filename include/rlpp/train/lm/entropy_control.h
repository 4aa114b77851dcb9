// Entropy controls of the policy update (policy_update.h), chosen in a recipe with
// `[entropy_control] name = "…"` and the control's options in the same table:
//   none      no term (the plain `entropy_coef` bonus still applies)
//   epo       EPO's bonus and per-turn-step entropy smoothing for multi-turn agents (algo/epo.h)
//   adaptive  an entropy bonus −c·H whose coefficient c follows Skywork-OR1's bang-bang control
//             toward a target entropy (algo/entropy.h, AdaptiveEntropyCoef)
//   aepo      AEPO (algo/aepo.h): the trainer samples extra rollouts of the batch's prompts at a
//             temperature chosen from the batch's mean entropy (t_high at or below the target,
//             t_low above), and the update adds α·E[−w·log π] on them (REINFORCE toward π^T)
// A control adds a per-token term to ℓ before aggregation, may learn from each batch after the
// update, and checkpoints its state.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "rlpp/algo/component.h"
#include "rlpp/core/config.h"
#include "rlpp/core/registry.h"
#include "rlpp/train/checkpoint.h"

namespace rlpp::train::lm {

struct EntropyTermInput {
  torch::Tensor entropy;  // (B, N) H of π_θ at each position, differentiable
  torch::Tensor turn;     // (B, N) int64 turn step of each token
  torch::Tensor mask;     // (B, N) float 0/1 tokens in the loss
  double progress = 0;    // fraction of training done, in [0, 1]
};

class EntropyControl {
 public:
  virtual ~EntropyControl() = default;
  // The term added to ℓ (B, N), 0 at masked positions; `metrics` gets 0-dim values to average.
  virtual torch::Tensor token_loss(const EntropyTermInput& in, std::map<std::string, torch::Tensor>* metrics) = 0;
  // After the update, with the batch's sampling-time entropies of every response token (B, N)
  // (`fresh`: data not trained on before).
  virtual void observe(const torch::Tensor& sampled_entropy, const torch::Tensor& turn, const torch::Tensor& valid,
                       bool fresh) {}
  virtual void save(CheckpointWriter& w) const {}
  virtual void load(CheckpointReader& r) {}

  // Extra rollouts (AEPO): the temperature at which the trainer samples one more response per row
  // of the batch, chosen from the batch's mean sampling-time entropy; 0 = none (the default).
  virtual bool wants_extra_rollouts() const { return false; }
  virtual double extra_rollout_temperature(double mean_entropy) const { return 0; }
  // The term on (a mini-batch's share of) those rollouts: the token loss (B, L) from their log π at
  // T = 1 (differentiable), the valid tokens, their group advantages (B) and the entropy that chose
  // their temperature; `metrics` gets 0-dim values to average.
  virtual torch::Tensor extra_rollout_loss(const torch::Tensor& logp, const torch::Tensor& mask,
                                           const torch::Tensor& advantages, double mean_entropy,
                                           std::map<std::string, torch::Tensor>* metrics) {
    return {};
  }
};

using EntropyControlFactory = algo::Factory<EntropyControl>;

// Names: none (a factory returning {}), epo, adaptive, aepo.
core::Registry<EntropyControlFactory>& entropy_control_registry();

// The control of the recipe's [entropy_control] section ({} when absent or "none"); its options
// are written to `resolved`.
std::unique_ptr<EntropyControl> build_entropy_control(const core::Recipe& recipe, toml::table* resolved);

}  // namespace rlpp::train::lm

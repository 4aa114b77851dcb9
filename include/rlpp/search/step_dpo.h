// Step-level preference optimisation on sibling pairs read off search trees (MCTS-DPO, arXiv
// 2405.00451): each pair shares the prompt and the parent's steps and differs from the divergence
// point on, so only the diverging tokens count (algo::divergence_masks). The loss is DPO (with
// conservative label smoothing ε) or IPO (arXiv 2310.12036), optionally plus α times the mean NLL of
// the chosen tokens (RPO, arXiv 2404.19733):
//   DPO  ℓ = −(1 − ε) log σ(β(h_w − h_l)) − ε log σ(−β(h_w − h_l))
//   IPO  ℓ = ((h_w − h_l) − 1/(2β))²
//   h(y) = Σ_t m_t (log π_θ(y_t) − log π_ref(y_t)),  m = tokens from the divergence point
// The update of the `mcts_dpo` trainer (which `rlpp mcts-dpo` runs).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/algo/preference.h"
#include "rlpp/core/config.h"
#include "rlpp/core/rng.h"
#include "rlpp/dist/comm.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/search/tree_data.h"

namespace rlpp::search {

struct StepDpoOptions {
  std::string loss = "dpo";      // "dpo" | "ipo"
  double beta = 0.1;             // MCTS-DPO's β
  double label_smoothing = 0.0;  // ε of DPO (ipo: must be 0)
  double nll_weight = 0.0;       // α of the chosen-step NLL term (RPO); 0 = off
  int64_t epochs = 4;            // passes over a round's pairs
  int64_t batch_pairs = 32;      // pairs per optimizer step
  double max_grad_norm = 1.0;

  void bind(core::Binder& b);
  void validate() const;  // UserError naming the option
};

// One pair as two full token sequences: prompt + the parent's steps + the chosen / rejected step.
struct PairSequences {
  Tokens chosen, rejected;
};
std::vector<PairSequences> pair_sequences(const Tokens& prompt, const std::vector<StepPreference>& prefs);

struct StepDpoLoss {
  algo::PreferenceOutput preference;  // the DPO / IPO loss and its metrics (reward_margin, ...)
  torch::Tensor total;                // preference.loss + α · NLL(chosen); what is differentiated
};
// The denominators of a batch split across data-parallel ranks: every rank's pairs and chosen-step
// tokens. With them a rank's loss is its part of the global batch's loss (pairs·mean/`pairs` and
// the NLL sum over `chosen_tokens`).
struct GlobalPairCounts {
  double pairs = 0;
  double chosen_tokens = 0;
};
// The loss of one batch of pairs under `policy` (differentiable) against `reference` (no grad);
// `global` null: the batch is the whole batch.
StepDpoLoss step_dpo_loss(nn::lm::TransformerLm& policy, nn::lm::TransformerLm& reference,
                          const std::vector<const PairSequences*>& batch, const StepDpoOptions& opts,
                          const GlobalPairCounts* global = nullptr);
// The chosen steps' tokens of a batch (the RPO term's denominator).
double chosen_step_tokens(const std::vector<const PairSequences*>& batch);

struct StepDpoStats {
  int64_t updates = 0;
  double loss_first = 0, loss_last = 0;  // the preference loss of the first / last batch
  double reward_accuracy_last = 0;
};
// opts.epochs shuffled passes (Fisher–Yates with `rng`) over `pairs` in batches of batch_pairs:
// one AdamW step per batch, gradient norm clipped at max_grad_norm. The policy is left in train mode.
// Data-parallel (`comm` of more than one rank; `pairs` this rank's): each epoch has
// M = ⌈global pairs / batch_pairs⌉ steps, step m taking the m-th of M near-equal parts of every
// rank's shuffled pairs; losses are divided by the global counts and gradients summed, and the
// statistics are over every rank's pairs.
StepDpoStats train_step_dpo(nn::lm::TransformerLm& policy, nn::lm::TransformerLm& reference,
                            const std::vector<PairSequences>& pairs, const StepDpoOptions& opts,
                            torch::optim::Optimizer& optimizer, core::Rng& rng, dist::Comm* comm = nullptr);

}  // namespace rlpp::search

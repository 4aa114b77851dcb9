// Selectors: which samples and tokens of a language batch enter the update, with which weight.
// Formulas: docs/objectives.md "Sample and token selection, budgets" and "Off-policy correction";
// choices made where a paper is vague: docs/objectives.md.
//
// A selector reads one SelectionInput and returns one SelectionOutput. Fields are optional: each
// selector checks the ones it needs and names the missing one. Selectors compose in order: feed
// `chain(in, out)` (the input with the new mask and the shaped rewards) to the next one.
//
// Every selector fills row_keep (all true when it does not drop rows), token_mask (the input mask
// with dropped rows and tokens zeroed; {} when the input has no mask) and seq_rewards (the input's,
// or shaped); token_weight only when it weights tokens (tis_*), else {}.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/algo/component.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct SelectionInput {
  torch::Tensor seq_rewards;  // (B) R_i
  torch::Tensor group_ids;    // (B) int64 prompt id: responses to one prompt share it
  torch::Tensor lengths;      // (B) |o_i| response lengths (default: row sums of mask)
  torch::Tensor truncated;    // (B) bool or 0/1: the response hit the length limit
  torch::Tensor mask;         // (B, L) float 0/1 response mask
  torch::Tensor advantages;   // (B, L) A_t (detached use)
  torch::Tensor entropy;      // (B, L) H_t of π's full distribution (detached use)
  torch::Tensor logp;         // (B, L) log-probs of the policy being trained (learner / π_θ)
  torch::Tensor logp_old;     // (B, L) log-probs of the policy that produced the data (behaviour / π_old)
  int64_t step = 0;           // training step, read by scheduled selectors (d3s_*)
};

struct SelectionOutput {
  torch::Tensor row_keep;      // (B) bool: the response stays in the batch
  torch::Tensor token_mask;    // (B, L) float 0/1: mask ∧ row_keep ∧ token kept
  torch::Tensor token_weight;  // (B, L) float, detached, 0 at masked positions; {} = weight 1
  torch::Tensor seq_rewards;   // (B) rewards after shaping (the input's when unshaped)
  std::map<std::string, torch::Tensor> metrics;  // 0-dim (or small 1-dim) tensors, "<name>/<metric>"
};

// The input of the next selector in a chain: mask ← out.token_mask, seq_rewards ← out.seq_rewards.
SelectionInput chain(const SelectionInput& in, const SelectionOutput& out);

class Selector {
 public:
  virtual ~Selector() = default;
  // Not const: a selector may keep state across steps.
  virtual SelectionOutput select(const SelectionInput& in) = 0;
  // The stage it runs at, declared so that trainers never recognise a selector by name: a selector
  // that shapes the sequence rewards runs before the advantage estimator (overlong_shaping); the
  // others select tokens and weights after it.
  virtual bool shapes_rewards() const { return false; }
};

// An options struct declares a reward-shaping selector by overloading shapes_rewards_of (found by
// argument-dependent lookup; overlong.h).
template <class Options>
bool shapes_rewards_of(const Options&) {
  return false;
}

using SelectorFactory = Factory<Selector>;

// A selector that is a pure function of its input and options.
template <class Options, SelectionOutput (*Fn)(const SelectionInput&, const Options&)>
class FunctionSelector final : public Selector {
 public:
  explicit FunctionSelector(Options opts) : opts_(std::move(opts)) {}
  SelectionOutput select(const SelectionInput& in) override { return Fn(in, opts_); }
  bool shapes_rewards() const override { return shapes_rewards_of(opts_); }
  const Options& options() const { return opts_; }

 private:
  Options opts_;
};

template <class Options, SelectionOutput (*Fn)(const SelectionInput&, const Options&)>
SelectorFactory function_selector() {
  return factory_of<Selector, FunctionSelector<Options, Fn>, Options>();
}

// Names: dynamic_sampling, overlong_shaping, overlong_mask, d3s_sample, d3s_token, capo,
// top_entropy, tis_token, tis_sequence, ratio_mask_token, ratio_mask_sequence, knapsack.
core::Registry<SelectorFactory>& selector_registry();
std::vector<std::pair<std::string, std::string>> list_selectors();  // (name, summary)

}  // namespace rlpp::algo

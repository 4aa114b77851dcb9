// A value / reward head on a transformer's final hidden states: v = w·h + b, one scalar per
// position. As an outcome reward model it is trained with the Bradley–Terry loss on preference
// pairs (algo/preference.h); as a process value model (AlphaMath, arXiv 2405.03553) with
// MSE(tanh(v), Q) on step values from search.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "rlpp/nn/lm/transformer.h"
#include "rlpp/search/lm_step_model.h"

namespace rlpp::search {

class ValueHeadImpl : public torch::nn::Module {
 public:
  explicit ValueHeadImpl(int64_t hidden_size);
  // hidden (..., H) -> values (...): (B, T, H) -> (B, T).
  torch::Tensor forward(const torch::Tensor& hidden);

 private:
  torch::nn::Linear proj_{nullptr};  // "proj": weight (1, H), bias (1), zero-initialised
};
TORCH_MODULE(ValueHead);

// The value at each row's last real token: hidden (B, T, H); attention (B, T) bool, {} = all real
// (left or right padding both work). Returns (B).
torch::Tensor last_token_values(ValueHead& head, const torch::Tensor& hidden, const torch::Tensor& attention = {});

// The head's raw value v at the last token of each full sequence (prompt + steps), on the shared
// transformer's hidden states; differentiable through both. Returns (B).
torch::Tensor sequence_values(nn::lm::TransformerLm& model, ValueHead& head, const std::vector<const Tokens*>& sequences);

// A search's value function: tanh(v) ∈ (−1, 1) (AlphaMath's bounded value), computed under no_grad
// with the model in eval mode. `model` and `head` must outlive the function.
SequenceValueFn tanh_value_fn(nn::lm::TransformerLm& model, ValueHead& head);

}  // namespace rlpp::search

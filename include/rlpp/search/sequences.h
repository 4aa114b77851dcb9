// Token sequences of different lengths as padded tensors, the form every search-data learner
// (step DPO, value regression, policy gradient on searched solutions) feeds the transformer.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "rlpp/search/step_model.h"

namespace rlpp::search {

// Right-padded (B, L) int64 tokens (pad 0) and (B, L) bool attention of `rows`, L = longest row.
std::pair<torch::Tensor, torch::Tensor> pad_rows(const std::vector<const Tokens*>& rows);

}  // namespace rlpp::search

// A tiny randomly initialised transformer for loss tests (common/tiny_lm.h, tied embeddings), and an
// independent log-prob reference:
// the full forward's logits, log-softmax in double precision, read token by token (no chunking,
// no padding, one sequence at a time).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "common/tiny_lm.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/search/step_model.h"

namespace rlpp::search::test {

inline nn::lm::TransformerLm tiny_lm(uint64_t seed, int64_t vocab = 12) {
  nn::lm::LmConfig c = rlpp::testing::tiny_lm_config(vocab, /*hidden=*/16, /*max_positions=*/64);
  c.tie_word_embeddings = true;
  return rlpp::testing::tiny_lm(c, seed);
}

// log π(s_t | s_<t) for t = 1 … |s| − 1 (index t; entry 0 is 0), in double.
inline std::vector<double> reference_logp(nn::lm::TransformerLm& model, const Tokens& s) {
  torch::NoGradGuard ng;
  const torch::Tensor tokens = torch::tensor(s, torch::kLong).unsqueeze(0);                   // (1, L)
  const torch::Tensor lsm = torch::log_softmax(model->logits(model->hidden_states(tokens)).to(torch::kDouble), -1)[0];  // (L, V)
  std::vector<double> out(s.size(), 0.0);
  for (size_t t = 1; t < s.size(); ++t) out[t] = lsm[static_cast<int64_t>(t) - 1][s[t]].item<double>();
  return out;
}

}  // namespace rlpp::search::test

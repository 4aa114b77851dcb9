#include "rlpp/train/lm/lm_batch.h"

#include <algorithm>

#include "rlpp/core/error.h"

namespace rlpp::train::lm {

LmBatch pad_examples(const std::vector<LmExample>& examples, const LayoutOptions& opts) {
  const auto B = static_cast<int64_t>(examples.size());
  core::require(B > 0, "pad_examples: no examples");
  int64_t L = 1;
  for (const auto& ex : examples) {
    L = std::max<int64_t>(L, std::min<int64_t>(opts.seq_len, static_cast<int64_t>(ex.prompt.size() + ex.response.size())));
  }
  LmBatch b;
  b.tokens = torch::full({B, L}, opts.pad_id, torch::kInt64);
  b.attention = torch::zeros({B, L}, torch::kBool);
  b.loss_mask = torch::zeros({B, L}, torch::kFloat32);
  auto tok = b.tokens.accessor<int64_t, 2>();
  auto att = b.attention.accessor<bool, 2>();
  auto msk = b.loss_mask.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& ex = examples[static_cast<size_t>(i)];
    const auto P = static_cast<int64_t>(ex.prompt.size());
    const int64_t n = std::min<int64_t>(L, P + static_cast<int64_t>(ex.response.size()));
    for (int64_t t = 0; t < n; ++t) {
      tok[i][t] = t < P ? ex.prompt[static_cast<size_t>(t)] : ex.response[static_cast<size_t>(t - P)];
      att[i][t] = true;
      if (t >= 1 && (!opts.response_only || t >= P)) msk[i][t] = 1.0F;
    }
  }
  return b;
}

void Packer::push(const LmExample& ex) {
  // The first token of a sequence is never a target: it follows an unrelated sequence.
  for (size_t t = 0; t < ex.prompt.size(); ++t) {
    tokens_.push_back(ex.prompt[t]);
    target_.push_back(!opts_.response_only && t > 0);
  }
  for (size_t t = 0; t < ex.response.size(); ++t) {
    tokens_.push_back(ex.response[t]);
    target_.push_back(!ex.prompt.empty() || t > 0);
  }
}

LmBatch Packer::pop(int64_t rows) {
  core::require(rows >= 1 && rows <= rows_ready(), "Packer::pop: " + std::to_string(rows) + " rows requested, " +
                                                       std::to_string(rows_ready()) + " ready");
  const int64_t L = opts_.seq_len, n = rows * L;
  LmBatch b;
  b.tokens = torch::from_blob(tokens_.data(), {rows, L}, torch::kInt64).clone();
  b.attention = torch::ones({rows, L}, torch::kBool);
  std::vector<float> m(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) m[static_cast<size_t>(k)] = (k % L != 0 && target_[static_cast<size_t>(k)]) ? 1.0F : 0.0F;
  b.loss_mask = torch::from_blob(m.data(), {rows, L}, torch::kFloat32).clone();
  tokens_.erase(tokens_.begin(), tokens_.begin() + n);
  target_.erase(target_.begin(), target_.begin() + n);
  return b;
}

void Packer::restore(std::vector<int64_t> tokens, std::vector<uint8_t> targets) {
  core::require(tokens.size() == targets.size(), "Packer::restore: tokens and targets differ in length");
  tokens_ = std::move(tokens);
  target_ = std::move(targets);
}

}  // namespace rlpp::train::lm

#include "rlpp/train/lm/rollout_batch.h"

#include <algorithm>

#include "rlpp/core/error.h"

namespace rlpp::train::lm {

RolloutBatch rollout_from_generation(const sample::Generation& g, const std::vector<int64_t>& prompt_ids,
                                     const torch::Tensor& reward, const torch::Tensor& correct) {
  const int64_t B = g.tokens.size(0);
  core::require(reward.numel() == B && correct.numel() == B,
                "rollout: " + std::to_string(reward.numel()) + " rewards for " + std::to_string(B) + " responses");
  RolloutBatch out;
  out.prompt_tokens = g.prompt_tokens;
  out.prompt_mask = g.prompt_mask;
  out.tokens = g.tokens;
  out.mask = g.mask;
  out.attend = g.mask;
  out.turn = torch::zeros_like(g.tokens);
  out.lengths = g.lengths;
  out.truncated = torch::zeros({B}, torch::kBool);
  for (int64_t i = 0; i < B; ++i) {
    if (g.finish_reason[static_cast<size_t>(i)] == sample::FinishReason::kLength) out.truncated[i] = true;
  }
  out.logp = g.logp;
  out.logp_sample = g.logp_sample;
  out.entropy = g.entropy;
  const torch::Tensor ids = torch::tensor(prompt_ids, torch::kInt64);
  out.group_id = ids.index_select(0, g.group_id);
  out.reward = reward.to(torch::kFloat32).reshape({B});
  out.correct = correct.to(torch::kFloat32).reshape({B});
  out.pad_token = g.pad_token;
  return out;
}

std::vector<BatchField> batch_fields(RolloutBatch& b) {
  using P = BatchPad;
  return {{"prompt_tokens", &b.prompt_tokens, P::kLeft, true}, {"prompt_mask", &b.prompt_mask, P::kLeft, false},
          {"tokens", &b.tokens, P::kRight, true},              {"mask", &b.mask, P::kRight, false},
          {"attend", &b.attend, P::kRight, false},              {"turn", &b.turn, P::kRight, false},
          {"logp", &b.logp, P::kRight, false},                 {"logp_sample", &b.logp_sample, P::kRight, false},
          {"entropy", &b.entropy, P::kRight, false},           {"lengths", &b.lengths, P::kNone, false},
          {"truncated", &b.truncated, P::kNone, false},        {"group_id", &b.group_id, P::kNone, false},
          {"reward", &b.reward, P::kNone, false},              {"correct", &b.correct, P::kNone, false}};
}

RolloutBatch select_rows(const RolloutBatch& b, const torch::Tensor& idx) {
  RolloutBatch out = b;
  for (auto& f : batch_fields(out)) *f.tensor = f.tensor->index_select(0, idx);
  return out;
}

namespace {

// x (B, n) padded to (B, width) with `value`, on the left or the right.
torch::Tensor pad_to(const torch::Tensor& x, int64_t width, bool left, double value) {
  const int64_t extra = width - x.size(1);
  if (extra == 0) return x;
  const torch::Tensor fill = torch::full({x.size(0), extra}, value, x.options());
  return left ? torch::cat({fill, x}, 1) : torch::cat({x, fill}, 1);
}

}  // namespace

RolloutBatch pad_responses(const RolloutBatch& b, int64_t width) {
  RolloutBatch out = b;
  for (auto& f : batch_fields(out)) {
    if (f.pad == BatchPad::kRight) *f.tensor = pad_to(*f.tensor, width, false, f.tokens ? static_cast<double>(b.pad_token) : 0.0);
  }
  return out;
}

RolloutBatch concat(const std::vector<RolloutBatch>& parts) {
  std::vector<RolloutBatch> live;
  for (const auto& p : parts) {
    if (p.rows() == 0) continue;
    core::require(live.empty() || p.pad_token == live.front().pad_token, "rollout: parts with different pad tokens");
    live.push_back(p);  // shallow: the tensors are shared
  }
  RolloutBatch out;
  if (live.empty()) return out;
  out.pad_token = live.front().pad_token;
  std::vector<std::vector<BatchField>> fields;
  for (auto& p : live) fields.push_back(batch_fields(p));
  auto out_fields = batch_fields(out);
  for (size_t k = 0; k < out_fields.size(); ++k) {
    const BatchField& f = out_fields[k];
    int64_t width = 0;
    if (f.pad != BatchPad::kNone) {
      for (const auto& pf : fields) width = std::max(width, pf[k].tensor->size(1));
    }
    std::vector<torch::Tensor> pieces;
    for (const auto& pf : fields) {
      const torch::Tensor& t = *pf[k].tensor;
      pieces.push_back(f.pad == BatchPad::kNone
                           ? t
                           : pad_to(t, width, f.pad == BatchPad::kLeft, f.tokens ? static_cast<double>(out.pad_token) : 0.0));
    }
    *f.tensor = torch::cat(pieces);
  }
  return out;
}

}  // namespace rlpp::train::lm

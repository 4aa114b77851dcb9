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

RolloutBatch select_rows(const RolloutBatch& b, const torch::Tensor& idx) {
  RolloutBatch out;
  out.pad_token = b.pad_token;
  out.prompt_tokens = b.prompt_tokens.index_select(0, idx);
  out.prompt_mask = b.prompt_mask.index_select(0, idx);
  out.tokens = b.tokens.index_select(0, idx);
  out.mask = b.mask.index_select(0, idx);
  out.lengths = b.lengths.index_select(0, idx);
  out.truncated = b.truncated.index_select(0, idx);
  out.logp = b.logp.index_select(0, idx);
  out.logp_sample = b.logp_sample.index_select(0, idx);
  out.entropy = b.entropy.index_select(0, idx);
  out.group_id = b.group_id.index_select(0, idx);
  out.reward = b.reward.index_select(0, idx);
  out.correct = b.correct.index_select(0, idx);
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

RolloutBatch concat(const std::vector<RolloutBatch>& parts) {
  std::vector<const RolloutBatch*> live;
  int64_t Lp = 0, N = 0;
  for (const auto& p : parts) {
    if (p.rows() == 0) continue;
    if (!live.empty()) {
      core::require(p.pad_token == live.front()->pad_token, "rollout: parts with different pad tokens");
    }
    live.push_back(&p);
    Lp = std::max(Lp, p.prompt_tokens.size(1));
    N = std::max(N, p.tokens.size(1));
  }
  RolloutBatch out;
  if (live.empty()) return out;
  out.pad_token = live.front()->pad_token;
  const auto pad = static_cast<double>(out.pad_token);
  std::vector<torch::Tensor> pt, pm, tk, mk, ln, tr, lp, ls, en, gi, rw, co;
  for (const RolloutBatch* p : live) {
    pt.push_back(pad_to(p->prompt_tokens, Lp, /*left=*/true, pad));
    pm.push_back(pad_to(p->prompt_mask, Lp, true, 0));
    tk.push_back(pad_to(p->tokens, N, /*left=*/false, pad));
    mk.push_back(pad_to(p->mask, N, false, 0));
    lp.push_back(pad_to(p->logp, N, false, 0));
    ls.push_back(pad_to(p->logp_sample, N, false, 0));
    en.push_back(pad_to(p->entropy, N, false, 0));
    ln.push_back(p->lengths);
    tr.push_back(p->truncated);
    gi.push_back(p->group_id);
    rw.push_back(p->reward);
    co.push_back(p->correct);
  }
  out.prompt_tokens = torch::cat(pt);
  out.prompt_mask = torch::cat(pm);
  out.tokens = torch::cat(tk);
  out.mask = torch::cat(mk);
  out.lengths = torch::cat(ln);
  out.truncated = torch::cat(tr);
  out.logp = torch::cat(lp);
  out.logp_sample = torch::cat(ls);
  out.entropy = torch::cat(en);
  out.group_id = torch::cat(gi);
  out.reward = torch::cat(rw);
  out.correct = torch::cat(co);
  return out;
}

}  // namespace rlpp::train::lm

#include "rlpp/search/step_dpo.h"

#include <algorithm>
#include <numeric>

#include "rlpp/core/error.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/search/sequences.h"

namespace rlpp::search {

void StepDpoOptions::bind(core::Binder& b) {
  b.choice("loss", loss, {"dpo", "ipo"}, "preference loss on the step pairs");
  b.num("beta", beta, "beta of DPO / IPO (IPO's target margin is 1/(2 beta))", core::Bounds::positive());
  b.num("label_smoothing", label_smoothing, "conservative-DPO label smoothing epsilon", core::Bounds{0.0, 0.5, false, true});
  b.num("nll_weight", nll_weight, "weight of an NLL term on the chosen steps (RPO); 0 = off", core::Bounds::non_negative());
  b.integer("epochs", epochs, "passes over a round's pairs", core::Bounds::at_least(1));
  b.integer("batch_pairs", batch_pairs, "pairs per optimizer step", core::Bounds::at_least(1));
  b.num("max_grad_norm", max_grad_norm, "global gradient-norm clip", core::Bounds::positive());
}

void StepDpoOptions::validate() const {
  core::require(loss == "dpo" || loss == "ipo", "step dpo: loss must be dpo or ipo, got '" + loss + "'");
  core::require(beta > 0, "step dpo: beta must be > 0, got " + std::to_string(beta));
  core::require(label_smoothing >= 0 && label_smoothing < 0.5,
                "step dpo: label_smoothing must be in [0, 0.5), got " + std::to_string(label_smoothing));
  core::require(loss == "dpo" || label_smoothing == 0, "step dpo: label_smoothing applies to loss = dpo only");
  core::require(nll_weight >= 0, "step dpo: nll_weight must be >= 0, got " + std::to_string(nll_weight));
  core::require(epochs >= 1 && batch_pairs >= 1, "step dpo: epochs and batch_pairs must be >= 1");
  core::require(max_grad_norm > 0, "step dpo: max_grad_norm must be > 0");
}

std::vector<PairSequences> pair_sequences(const Tokens& prompt, const std::vector<StepPreference>& prefs) {
  std::vector<PairSequences> out;
  for (const StepPreference& p : prefs) {
    PairSequences s;
    s.chosen = prompt;
    s.chosen.insert(s.chosen.end(), p.prefix.begin(), p.prefix.end());
    s.rejected = s.chosen;
    s.chosen.insert(s.chosen.end(), p.chosen.begin(), p.chosen.end());
    s.rejected.insert(s.rejected.end(), p.rejected.begin(), p.rejected.end());
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// The padded chosen and rejected sequences of a batch and the masks of their diverging steps.
struct PairTensors {
  torch::Tensor tw, aw, tl, al;  // (B, Lw), (B, Lw) bool, (B, Ll), (B, Ll) bool
  torch::Tensor mw, ml;          // (B, Lw), (B, Ll) float
};
PairTensors pair_tensors(const std::vector<const PairSequences*>& batch) {
  std::vector<const Tokens*> cw, cl;
  for (const PairSequences* p : batch) {
    cw.push_back(&p->chosen);
    cl.push_back(&p->rejected);
  }
  PairTensors t;
  std::tie(t.tw, t.aw) = pad_rows(cw);
  std::tie(t.tl, t.al) = pad_rows(cl);
  std::tie(t.mw, t.ml) = algo::divergence_masks(t.tw, t.aw, t.tl, t.al);
  return t;
}

}  // namespace

double chosen_step_tokens(const std::vector<const PairSequences*>& batch) {
  return batch.empty() ? 0.0 : pair_tensors(batch).mw.sum().item<double>();
}

StepDpoLoss step_dpo_loss(nn::lm::TransformerLm& policy, nn::lm::TransformerLm& reference,
                          const std::vector<const PairSequences*>& batch, const StepDpoOptions& opts,
                          const GlobalPairCounts* global) {
  const PairTensors pt = pair_tensors(batch);
  const torch::Tensor &tw = pt.tw, &aw = pt.aw, &tl = pt.tl, &al = pt.al, &mw = pt.mw, &ml = pt.ml;
  algo::PreferenceInput in;
  {
    torch::NoGradGuard ng;
    in.ref_logp_chosen = nn::lm::token_logprobs(reference, tw, aw).logp;
    in.ref_logp_rejected = nn::lm::token_logprobs(reference, tl, al).logp;
  }
  in.logp_chosen = nn::lm::token_logprobs(policy, tw, aw).logp;
  in.logp_rejected = nn::lm::token_logprobs(policy, tl, al).logp;
  in.mask_chosen = mw;
  in.mask_rejected = ml;
  StepDpoLoss out;
  if (opts.loss == "ipo") {
    algo::IpoOptions io;
    io.beta = opts.beta;
    out.preference = algo::ipo_loss(in, io);
  } else {
    algo::DpoOptions d;
    d.beta = opts.beta;
    d.label_smoothing = opts.label_smoothing;
    out.preference = algo::dpo_loss(in, d);
  }
  // The share of the global batch's mean that is this batch's (1 when it is the whole batch).
  const double pair_share = global ? static_cast<double>(batch.size()) / std::max(global->pairs, 1.0) : 1.0;
  out.total = out.preference.loss * pair_share;
  // RPO: + α · (−Σ m_w log π(y_w) / Σ m_w), the mean NLL of the chosen steps' tokens.
  if (opts.nll_weight > 0) {
    const torch::Tensor tokens = global ? torch::tensor(std::max(global->chosen_tokens, 1.0)) : mw.sum().clamp_min(1.0);
    out.total = out.total - opts.nll_weight * (in.logp_chosen * mw).sum() / tokens;
  }
  return out;
}

StepDpoStats train_step_dpo(nn::lm::TransformerLm& policy, nn::lm::TransformerLm& reference,
                            const std::vector<PairSequences>& pairs, const StepDpoOptions& opts,
                            torch::optim::Optimizer& optimizer, core::Rng& rng, dist::Comm* comm) {
  opts.validate();
  if (comm != nullptr && comm->size() == 1) comm = nullptr;
  StepDpoStats st;
  policy->train();
  const size_t P = pairs.size(), bp = static_cast<size_t>(opts.batch_pairs);
  double all_pairs = static_cast<double>(P);
  dist::sum_over_ranks(comm, &all_pairs, 1);
  // One rank: consecutive batches of batch_pairs. Data-parallel: M near-equal parts of each rank's pairs.
  const auto M = static_cast<size_t>((static_cast<int64_t>(all_pairs) + opts.batch_pairs - 1) / opts.batch_pairs);
  for (int64_t epoch = 0; epoch < opts.epochs && all_pairs > 0; ++epoch) {
    std::vector<size_t> order(P);
    std::iota(order.begin(), order.end(), 0);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t m = 0; m < M; ++m) {
      const size_t lo = comm ? m * P / M : m * bp, hi = comm ? (m + 1) * P / M : std::min(P, (m + 1) * bp);
      std::vector<const PairSequences*> batch;
      for (size_t j = lo; j < hi; ++j) batch.push_back(&pairs[order[j]]);
      GlobalPairCounts global;  // data-parallel: the step's pairs and chosen tokens over every rank
      if (comm) {
        double counts[2] = {static_cast<double>(batch.size()), chosen_step_tokens(batch)};
        dist::sum_over_ranks(comm, counts, 2);
        global = {counts[0], counts[1]};
      }
      optimizer.zero_grad();
      double loss = 0, accuracy = 0;  // the batch's means (data-parallel: over every rank's pairs)
      if (!batch.empty()) {
        const StepDpoLoss l = step_dpo_loss(policy, reference, batch, opts, comm ? &global : nullptr);
        l.total.backward();
        loss = l.preference.loss.item<double>();
        accuracy = l.preference.metrics.at(algo::metric::kRewardAccuracy).item<double>();
      }
      if (comm) {
        dist::sum_gradients(*comm, policy->parameters());
        const double n = static_cast<double>(batch.size());
        double sums[2] = {loss * n, accuracy * n};
        dist::sum_over_ranks(comm, sums, 2);
        loss = sums[0] / std::max(global.pairs, 1.0);
        accuracy = sums[1] / std::max(global.pairs, 1.0);
      }
      torch::nn::utils::clip_grad_norm_(policy->parameters(), opts.max_grad_norm);
      optimizer.step();
      if (st.updates == 0) st.loss_first = loss;
      st.loss_last = loss;
      st.reward_accuracy_last = accuracy;
      ++st.updates;
    }
  }
  return st;
}

}  // namespace rlpp::search

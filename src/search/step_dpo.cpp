#include "rlpp/search/step_dpo.h"

#include <algorithm>
#include <numeric>

#include "rlpp/core/error.h"
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

StepDpoLoss step_dpo_loss(nn::lm::TransformerLm& policy, nn::lm::TransformerLm& reference,
                          const std::vector<const PairSequences*>& batch, const StepDpoOptions& opts) {
  std::vector<const Tokens*> cw, cl;
  for (const PairSequences* p : batch) {
    cw.push_back(&p->chosen);
    cl.push_back(&p->rejected);
  }
  auto [tw, aw] = pad_rows(cw);  // (B, Lw)
  auto [tl, al] = pad_rows(cl);  // (B, Ll)
  auto [mw, ml] = algo::divergence_masks(tw, aw, tl, al);  // (B, Lw), (B, Ll) float
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
  out.total = out.preference.loss;
  // RPO: + α · (−Σ m_w log π(y_w) / Σ m_w), the mean NLL of the chosen steps' tokens.
  if (opts.nll_weight > 0) out.total = out.total - opts.nll_weight * (in.logp_chosen * mw).sum() / mw.sum().clamp_min(1.0);
  return out;
}

StepDpoStats train_step_dpo(nn::lm::TransformerLm& policy, nn::lm::TransformerLm& reference,
                            const std::vector<PairSequences>& pairs, const StepDpoOptions& opts,
                            torch::optim::Optimizer& optimizer, core::Rng& rng) {
  opts.validate();
  StepDpoStats st;
  policy->train();
  for (int64_t epoch = 0; epoch < opts.epochs && !pairs.empty(); ++epoch) {
    std::vector<size_t> order(pairs.size());
    std::iota(order.begin(), order.end(), 0);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(opts.batch_pairs)) {
      std::vector<const PairSequences*> batch;
      for (size_t j = start; j < std::min(order.size(), start + static_cast<size_t>(opts.batch_pairs)); ++j)
        batch.push_back(&pairs[order[j]]);
      const StepDpoLoss l = step_dpo_loss(policy, reference, batch, opts);
      optimizer.zero_grad();
      l.total.backward();
      torch::nn::utils::clip_grad_norm_(policy->parameters(), opts.max_grad_norm);
      optimizer.step();
      const double v = l.preference.loss.item<double>();
      if (st.updates == 0) st.loss_first = v;
      st.loss_last = v;
      st.reward_accuracy_last = l.preference.metrics.at(algo::metric::kRewardAccuracy).item<double>();
      ++st.updates;
    }
  }
  return st;
}

}  // namespace rlpp::search

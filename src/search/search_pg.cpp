#include "rlpp/search/search_pg.h"

#include "rlpp/core/error.h"
#include "rlpp/search/sequences.h"

namespace rlpp::search {

PgBatch make_pg_batch(const std::vector<PgRow>& rows) {
  core::require(!rows.empty(), "search pg: no solutions");
  std::vector<Tokens> seqs;
  for (const PgRow& r : rows) {
    Tokens s = r.prompt;
    s.insert(s.end(), r.solution.steps.begin(), r.solution.steps.end());
    seqs.push_back(std::move(s));
  }
  std::vector<const Tokens*> ptrs;
  for (const Tokens& s : seqs) ptrs.push_back(&s);
  PgBatch b;
  std::tie(b.tokens, b.attention) = pad_rows(ptrs);
  const int64_t B = b.tokens.size(0), L = b.tokens.size(1);
  b.mask = torch::zeros({B, L}, torch::kFloat32);
  b.step_advantages = torch::zeros({B, L}, torch::kFloat32);
  b.rewards = torch::zeros({B}, torch::kFloat32);
  b.group_ids = torch::zeros({B}, torch::kLong);
  b.lengths = torch::zeros({B}, torch::kLong);
  auto m = b.mask.accessor<float, 2>();
  auto a = b.step_advantages.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const PgRow& r = rows[static_cast<size_t>(i)];
    core::require(r.solution.step_lengths.size() == r.solution.step_advantages.size(),
                  "search pg: a solution needs one advantage per step");
    int64_t t = static_cast<int64_t>(r.prompt.size());
    for (size_t s = 0; s < r.solution.step_lengths.size(); ++s)
      for (int64_t j = 0; j < r.solution.step_lengths[s]; ++j, ++t) {
        m[i][t] = 1.0F;
        a[i][t] = static_cast<float>(r.solution.step_advantages[s]);
      }
    core::require(t == static_cast<int64_t>(seqs[static_cast<size_t>(i)].size()),
                  "search pg: step lengths do not add up to the solution's tokens");
    b.rewards[i] = r.solution.reward;
    b.group_ids[i] = r.group;
    b.lengths[i] = static_cast<int64_t>(r.solution.steps.size());
  }
  return b;
}

torch::Tensor pg_advantages(const PgBatch& batch, const std::string& source, algo::AdvantageEstimator* estimator) {
  if (source == "q") return batch.step_advantages;
  core::require(source == "reward", "search pg: advantage source must be reward or q, got '" + source + "'");
  core::require(estimator != nullptr, "search pg: advantage source 'reward' needs an advantage estimator");
  algo::AdvantageInput in;
  in.seq_rewards = batch.rewards;
  in.group_ids = batch.group_ids;
  in.lengths = batch.lengths;
  in.mask = batch.mask;
  return estimator->compute(in).advantages * batch.mask;  // (B, L)
}

PgLoss search_pg_loss(nn::lm::TransformerLm& model, const PgBatch& batch, const torch::Tensor& rows,
                      const torch::Tensor& logp_old, const torch::Tensor& advantages,
                      algo::PolicyObjective& objective, algo::Aggregation aggregation) {
  const torch::Tensor tokens = batch.tokens.index_select(0, rows);  // (M, L)
  const torch::Tensor att = batch.attention.index_select(0, rows);
  const nn::lm::TokenLogProbs lp = nn::lm::token_logprobs(model, tokens, att);
  algo::PolicyLossInput in;
  in.mask = batch.mask.index_select(0, rows);                       // (M, L)
  in.logp = lp.logp * in.mask;                                      // (M, L)
  in.logp_old = logp_old.index_select(0, rows) * in.mask;
  in.advantages = advantages.index_select(0, rows);
  in.entropy = lp.entropy.detach();
  objective.prepare(in);  // batch-level parameters (bapo, clip_cov) from these rows: no micro-batching here
  const algo::ObjectiveOutput out = objective.compute(in);
  PgLoss l;
  l.loss = algo::aggregate_loss(out.token_loss, in.mask, aggregation, algo::aggregation_counts(in.mask));
  l.metrics = out.metrics;
  return l;
}

}  // namespace rlpp::search

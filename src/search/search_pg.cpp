#include "rlpp/search/search_pg.h"

#include <algorithm>

#include "rlpp/algo/potential_shaping.h"
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
  size_t most_steps = 1;
  for (const PgRow& r : rows) most_steps = std::max(most_steps, r.solution.step_lengths.size());
  b.step_index = torch::full({B, L}, -1, torch::kLong);
  b.step_values = torch::zeros({B, static_cast<int64_t>(most_steps)}, torch::kFloat32);
  b.num_steps = torch::zeros({B}, torch::kLong);
  auto m = b.mask.accessor<float, 2>();
  auto a = b.step_advantages.accessor<float, 2>();
  auto si = b.step_index.accessor<int64_t, 2>();
  auto sv = b.step_values.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const PgRow& r = rows[static_cast<size_t>(i)];
    core::require(r.solution.step_lengths.size() == r.solution.step_advantages.size(),
                  "search pg: a solution needs one advantage per step");
    core::require(r.solution.step_values.empty() || r.solution.step_values.size() == r.solution.step_lengths.size(),
                  "search pg: a solution needs one state value per step (or none)");
    b.num_steps[i] = static_cast<int64_t>(r.solution.step_lengths.size());
    for (size_t s = 0; s < r.solution.step_values.size(); ++s) sv[i][static_cast<int64_t>(s)] = static_cast<float>(r.solution.step_values[s]);
    int64_t t = static_cast<int64_t>(r.prompt.size());
    for (size_t s = 0; s < r.solution.step_lengths.size(); ++s)
      for (int64_t j = 0; j < r.solution.step_lengths[s]; ++j, ++t) {
        m[i][t] = 1.0F;
        a[i][t] = static_cast<float>(r.solution.step_advantages[s]);
        si[i][t] = static_cast<int64_t>(s);
      }
    core::require(t == static_cast<int64_t>(seqs[static_cast<size_t>(i)].size()),
                  "search pg: step lengths do not add up to the solution's tokens");
    b.rewards[i] = r.solution.reward;
    b.group_ids[i] = r.group;
    b.lengths[i] = static_cast<int64_t>(r.solution.steps.size());
  }
  return b;
}

namespace {

// Per-token γ-discounted returns of the potential-shaped step rewards (B, L).
torch::Tensor potential_advantages(const PgBatch& b, double gamma) {
  const int64_t B = b.rows(), K = b.step_values.size(1);
  const torch::Tensor steps = torch::arange(K, torch::kLong).unsqueeze(0) < b.num_steps.unsqueeze(1);  // (B, K)
  const torch::Tensor step_mask = steps.to(torch::kFloat32);
  // the verifier reward on each solution's last step
  const torch::Tensor last = (b.num_steps - 1).clamp_min(0).unsqueeze(1);                          // (B, 1)
  const torch::Tensor rewards = torch::zeros({B, K}, torch::kFloat32).scatter(1, last, b.rewards.unsqueeze(1)) * step_mask;
  const torch::Tensor values = torch::cat({b.step_values, torch::zeros({B, 1}, torch::kFloat32)}, 1);  // (B, K + 1)
  const torch::Tensor shaped = algo::potential_shaping(rewards, values, gamma, step_mask, /*terminal_after_last=*/true);
  torch::Tensor ret = torch::zeros({B, K}, torch::kFloat32);  // G_s = r'_s + γ·G_{s+1}
  torch::Tensor next = torch::zeros({B}, torch::kFloat32);
  for (int64_t s = K - 1; s >= 0; --s) {
    next = (shaped.select(1, s) + static_cast<float>(gamma) * next) * step_mask.select(1, s);
    ret.select(1, s).copy_(next);
  }
  return ret.gather(1, b.step_index.clamp_min(0)) * b.mask;  // (B, L)
}

}  // namespace

PgBatch pad_pg_batch(const PgBatch& b, int64_t L, int64_t K) {
  // x (B, n) -> (B, width), new columns `value`; undefined (no rows) -> (0, width) of `dtype`.
  auto pad = [](const torch::Tensor& x, int64_t width, double value, torch::Dtype dtype) {
    if (!x.defined()) return torch::zeros({0, width}, dtype);
    if (x.size(1) == width) return x;
    return torch::cat({x, torch::full({x.size(0), width - x.size(1)}, value, x.options())}, 1);
  };
  auto rows = [](const torch::Tensor& x, torch::Dtype dtype) { return x.defined() ? x : torch::zeros({0}, dtype); };
  PgBatch o;
  o.tokens = pad(b.tokens, L, 0, torch::kLong);
  o.attention = pad(b.attention, L, 0, torch::kBool);
  o.mask = pad(b.mask, L, 0, torch::kFloat32);
  o.step_advantages = pad(b.step_advantages, L, 0, torch::kFloat32);
  o.step_index = pad(b.step_index, L, -1, torch::kLong);
  o.step_values = pad(b.step_values, K, 0, torch::kFloat32);
  o.rewards = rows(b.rewards, torch::kFloat32);
  o.group_ids = rows(b.group_ids, torch::kLong);
  o.lengths = rows(b.lengths, torch::kLong);
  o.num_steps = rows(b.num_steps, torch::kLong);
  return o;
}

torch::Tensor pg_advantages(const PgBatch& batch, const std::string& source, algo::AdvantageEstimator* estimator,
                            double gamma) {
  if (source == "q") return batch.step_advantages;
  if (source == "potential") return potential_advantages(batch, gamma);
  core::require(source == "reward", "search pg: advantage source must be reward, q or potential, got '" + source + "'");
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

// Algorithm "search_pg": policy gradient on searched data (search_pg.h). One round = MCTS on
// [search].problems fresh problems → every finished solution in each tree (its verifier reward and
// its steps' Q(step) − Q(parent)) → log π of the searching policy as logp_old → [pg].ppo_epochs
// passes of [pg].mini_batches AdamW steps on objective([objective].name) aggregated by
// [pg].aggregation, with advantages from [advantage].name on the rewards ([pg].advantage_source =
// "reward", solutions of a problem form a group) or the step Q advantages ("q").
#include "rlpp/search/trainers.h"

#include <algorithm>
#include <numeric>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/objective.h"
#include "rlpp/core/error.h"
#include "rlpp/search/search_pg.h"
#include "rlpp/search/tree_data.h"
#include "search/search_run.h"

namespace rlpp::search {

namespace {

struct SearchPgSection {  // [pg]
  std::string advantage_source = "reward";  // "reward" (through [advantage]) | "q" (step Q advantages)
  int64_t ppo_epochs = 1;
  int64_t mini_batches = 1;
  std::string aggregation = "token-mean";
  double max_grad_norm = 1.0;

  void bind(core::Binder& b) {
    b.choice("advantage_source", advantage_source, {"reward", "q"},
             "reward: [advantage] estimator on verifier rewards; q: each step's Q(step) - Q(parent)");
    b.integer("ppo_epochs", ppo_epochs, "passes over a round's solutions", core::Bounds::closed(1, 1000));
    b.integer("mini_batches", mini_batches, "optimizer steps per epoch", core::Bounds::closed(1, 1 << 20));
    b.choice("aggregation", aggregation, algo::aggregation_registry().names(), "loss aggregation (rlpp list aggregations)");
    b.num("max_grad_norm", max_grad_norm, "global gradient-norm clip", core::Bounds::positive());
  }
};

MctsOptions search_pg_defaults() {  // k = 4 steps per expansion, 8 iterations per move (× 2 at the root)
  MctsOptions o;
  o.num_children = 4;
  o.iterations = 8;
  o.root_multiplier = 2;
  return o;
}

class SearchPgTrainer : public SearchRun {
 public:
  SearchPgTrainer(const core::Recipe& recipe, const train::RunContext& ctx) : SearchRun(recipe, ctx, search_pg_defaults()) {
    pg_ = core::read_options<SearchPgSection>(recipe, "pg");
    objective_name_ = recipe.get_string("objective", "name", "ppo_clip");
    advantage_name_ = recipe.get_string("advantage", "name", "grpo");
    objective_ = algo::build_component(algo::objective_registry(), objective_name_, recipe, "objective", {"name"});
    advantage_ = algo::build_component(algo::advantage_registry(), advantage_name_, recipe, "advantage", {"name"});
    aggregation_ = algo::aggregation_from_name(pg_.aggregation);
    recipe.check_all_used();
    build_search_policy();
    finish_setup(recipe, {"task", "objective", "advantage"});
  }

 private:
  core::MetricRow train_step() override {
    const int64_t round = step_ + 1;
    std::vector<PgRow> rows;
    const RoundSearch s = search(problems_of_round(round, search_.problems), run_.seed * 1000 + round, {},
                                 [&](int64_t problem, const Tokens& prompt, const Mcts& tree, const MctsResult&) {
                                   for (SearchTrajectory& t : terminal_trajectories(tree))
                                     rows.push_back({prompt, std::move(t), problem});
                                 });
    core::MetricRow row;
    append(row, s);
    row.emplace_back("pg/solutions", static_cast<double>(rows.size()));
    if (rows.empty()) {
      row.emplace_back("pg/skipped_update", 1.0);
      return row;
    }
    const PgBatch batch = make_pg_batch(rows);
    const int64_t B = batch.rows();
    const torch::Tensor adv = pg_advantages(batch, pg_.advantage_source, advantage_.get());  // (B, L)
    torch::Tensor logp_old;  // (B, L): the policy that searched = the parameters before this round's updates
    {
      torch::NoGradGuard ng;
      logp_old = nn::lm::token_logprobs(model_, batch.tokens, batch.attention).logp * batch.mask;
    }
    model_->train();
    double loss_sum = 0, clip_sum = 0, kl_sum = 0;
    int64_t updates = 0;
    const int64_t M = std::min(pg_.mini_batches, B);
    std::vector<int64_t> order(static_cast<size_t>(B));
    for (int64_t e = 0; e < pg_.ppo_epochs; ++e) {
      std::iota(order.begin(), order.end(), 0);
      rng_.shuffle(order.data(), B);
      for (int64_t m = 0; m < M; ++m) {
        const int64_t lo = m * B / M, hi = (m + 1) * B / M;
        const torch::Tensor idx = torch::from_blob(order.data() + lo, {hi - lo}, torch::kInt64).clone();
        const PgLoss l = search_pg_loss(model_, batch, idx, logp_old, adv, *objective_, aggregation_);
        optimizer_->zero_grad();
        l.loss.backward();
        torch::nn::utils::clip_grad_norm_(model_->parameters(), pg_.max_grad_norm);
        optimizer_->step();
        loss_sum += l.loss.item<double>();
        clip_sum += l.metrics.count(algo::metric::kClipFrac) ? l.metrics.at(algo::metric::kClipFrac).item<double>() : 0.0;
        kl_sum += l.metrics.count(algo::metric::kApproxKl) ? l.metrics.at(algo::metric::kApproxKl).item<double>() : 0.0;
        ++updates;
      }
    }
    const double n = static_cast<double>(std::max<int64_t>(updates, 1));
    row.emplace_back("pg/reward_mean", batch.rewards.mean().item<double>());
    row.emplace_back("pg/correct_frac", (batch.rewards > 0).to(torch::kFloat64).mean().item<double>());
    row.emplace_back("pg/nonzero_adv_frac",
                     ((adv.abs() > 0).to(torch::kFloat32) * batch.mask).sum().item<double>() / batch.mask.sum().item<double>());
    row.emplace_back("loss/policy", loss_sum / n);
    row.emplace_back("loss/clipfrac", clip_sum / n);
    row.emplace_back("loss/approx_kl", kl_sum / n);
    return row;
  }

  void write_own_options(toml::table* out) const override {
    write_search_options(out);
    core::write_options(pg_, out, "pg");
  }

  SearchPgSection pg_;
  std::string objective_name_, advantage_name_;
  std::unique_ptr<algo::PolicyObjective> objective_;
  std::unique_ptr<algo::AdvantageEstimator> advantage_;
  algo::Aggregation aggregation_{};
};

}  // namespace

std::unique_ptr<train::Trainer> make_search_pg_trainer(const core::Recipe& recipe, const train::RunContext& ctx) {
  return std::make_unique<SearchPgTrainer>(recipe, ctx);
}

}  // namespace rlpp::search

// Algorithm "search_pg": policy gradient on searched data (search_pg.h). One round = MCTS on
// [search].problems fresh problems → every finished solution in each tree (its verifier reward and
// its steps' Q(step) − Q(parent)) → log π of the searching policy as logp_old → the one policy
// update of the LM trainers (train/lm/policy_update.h; its options in [pg]: epochs, mini- and
// micro-batches, aggregation, KL, entropy), objective [objective].name, with advantages from
// [advantage].name on the rewards ([pg].advantage_source = "reward", solutions of a problem form a
// group) or the step Q advantages ("q").
#include "rlpp/search/trainers/trainers.h"

#include <algorithm>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/build_named.h"
#include "rlpp/algo/objective.h"
#include "rlpp/core/error.h"
#include "rlpp/search/search_pg.h"
#include "rlpp/search/tree_data.h"
#include "rlpp/train/lm/policy_update.h"
#include "search/trainers/search_run.h"

namespace rlpp::search {

namespace {

struct SearchPgSection {  // [pg]
  std::string advantage_source = "reward";  // "reward" (through [advantage]) | "q" | "potential" (tree values)
  double gamma = 1.0;                        // discount of the "potential" returns
  train::lm::PolicyUpdateOptions update;

  void bind(core::Binder& b) {
    b.choice("advantage_source", advantage_source, {"reward", "q", "potential"},
             "reward: [advantage] estimator on verifier rewards; q: each step's Q(step) - Q(parent); potential: "
             "returns of potential-shaped rewards with phi = the tree's Q (R - Q(state) at gamma = 1)");
    b.num("gamma", gamma, "discount of the potential-shaped returns (advantage_source = potential)",
          core::Bounds::unit());
    update.bind(b);
  }
};

class SearchPgTrainer : public SearchRun {
 public:
  SearchPgTrainer(const core::Recipe& recipe, const train::RunContext& ctx) : SearchRun(recipe, ctx, step_search_defaults()) {
    train::lm::refuse_moved_keys(recipe, "pg");
    pg_ = core::read_options<SearchPgSection>(recipe, "pg");
    auto objective = algo::build_named(algo::objective_registry(), recipe, "objective", "ppo_clip", &resolved_);
    advantage_ = algo::build_named(algo::advantage_registry(), recipe, "advantage", "grpo", &resolved_);
    build_search_policy();
    update_ = std::make_unique<train::lm::PolicyUpdate>(pg_.update, std::move(objective), model_, *optimizer_, recipe,
                                                        &resolved_);
    recipe.check_all_used();
    finish_setup();
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
    const torch::Tensor adv = pg_advantages(batch, pg_.advantage_source, advantage_.get(), pg_.gamma);  // (B, L)
    train::lm::UpdateBatch ub;
    ub.tokens = batch.tokens;
    ub.attention = batch.attention;
    ub.response_start = 0;  // every position; the mask selects the steps' tokens
    ub.mask = batch.mask;
    ub.advantages = adv;
    {  // the policy that searched = the parameters before this round's updates
      torch::NoGradGuard ng;
      ub.logp_old = nn::lm::token_logprobs(model_, batch.tokens, batch.attention).logp * batch.mask;
    }
    ub.turn = torch::zeros_like(batch.tokens);
    ub.sampled_entropy = torch::zeros_like(batch.mask);
    ub.valid = batch.mask;
    model_->train();
    const double progress =
        std::min(1.0, static_cast<double>(step_) / static_cast<double>(std::max<int64_t>(run_.total_steps, 1)));
    const core::MetricRow update_row = update_->run(ub, rng_, progress);
    row.emplace_back("pg/reward_mean", batch.rewards.mean().item<double>());
    row.emplace_back("pg/correct_frac", (batch.rewards > 0).to(torch::kFloat64).mean().item<double>());
    row.emplace_back("pg/nonzero_adv_frac",
                     ((adv.abs() > 0).to(torch::kFloat32) * batch.mask).sum().item<double>() / batch.mask.sum().item<double>());
    row.insert(row.end(), update_row.begin(), update_row.end());
    return row;
  }

  void save_extra(train::CheckpointWriter& w) const override { update_->save(w); }
  void load_extra(train::CheckpointReader& r) override { update_->load(r); }

  void write_own_options(toml::table* out) const override {
    write_search_options(out);
    core::write_options(pg_, out, "pg");
  }

  SearchPgSection pg_;
  std::unique_ptr<algo::AdvantageEstimator> advantage_;
  std::unique_ptr<train::lm::PolicyUpdate> update_;
};

}  // namespace

std::unique_ptr<train::Trainer> make_search_pg_trainer(const core::Recipe& recipe, const train::RunContext& ctx) {
  return std::make_unique<SearchPgTrainer>(recipe, ctx);
}

}  // namespace rlpp::search

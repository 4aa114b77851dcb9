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
#include "rlpp/dist/data_parallel.h"
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
    if (dist::Comm* c = comm()) {
      core::require(search_.problems >= c->size(),
                    recipe.origin("search.problems") + ": search.problems = " + std::to_string(search_.problems) +
                        " is fewer than the " + std::to_string(c->size()) + " ranks that share each round's problems");
      update_->set_comm(c);
    }
    finish_setup();
  }

  // Data-parallel: every rank draws the round's problems and searches its near-equal share (step
  // sampling seeded by rank); the advantages are computed on the gathered global batch (solutions
  // of a problem stay on one rank), and the policy update is global (policy_update.h).
  bool data_parallel() const override { return true; }

 private:
  core::MetricRow train_step() override {
    const int64_t round = step_ + 1;
    std::vector<PgRow> rows;
    const std::vector<env::text::TaskInstance> all = problems_of_round(round, search_.problems);
    const auto [first, last] = share_of(static_cast<int64_t>(all.size()));
    const uint64_t rank_salt = static_cast<uint64_t>(rank()) * 0x9E3779B97F4A7C15ULL;
    const RoundSearch s = over_ranks(
        search({all.begin() + first, all.begin() + last}, static_cast<int64_t>(run_.seed * 1000 + round + rank_salt), {},
               [&, first = first](int64_t problem, const Tokens& prompt, const Mcts& tree, const MctsResult&) {
                 for (SearchTrajectory& t : terminal_trajectories(tree)) rows.push_back({prompt, std::move(t), first + problem});
               }),
        last - first);
    dist::Comm* dp = comm();
    const dist::RowSplit split = dist::row_split(dp, static_cast<int64_t>(rows.size()));
    core::MetricRow row;
    append(row, s);
    row.emplace_back("pg/solutions", static_cast<double>(split.total));
    if (split.total == 0) {
      row.emplace_back("pg/skipped_update", 1.0);
      return row;
    }
    PgBatch batch = rows.empty() ? PgBatch{} : make_pg_batch(rows);
    PgBatch global = batch;  // every rank's rows, for the advantages and the metrics
    if (dp) {  // one length L and step count K on every rank, then the global batch
      batch = pad_pg_batch(batch, dist::max_over_ranks(dp, batch.rows() ? batch.tokens.size(1) : 0),
                           dist::max_over_ranks(dp, batch.rows() ? batch.step_values.size(1) : 0));
      global = batch;
      for (torch::Tensor* t : {&global.tokens, &global.attention, &global.mask, &global.step_advantages, &global.rewards,
                               &global.group_ids, &global.lengths, &global.step_index, &global.step_values,
                               &global.num_steps}) {
        *t = dist::gather_rows(dp, split, t->contiguous());
      }
    }
    const torch::Tensor global_adv = pg_advantages(global, pg_.advantage_source, advantage_.get(), pg_.gamma);  // (G, L)
    const torch::Tensor adv = dist::own_rows(split, rank(), global_adv);                                      // (B, L)
    train::lm::UpdateBatch ub;
    ub.tokens = batch.tokens;
    ub.attention = batch.attention;
    ub.response_start = 0;  // every position; the mask selects the steps' tokens
    ub.mask = batch.mask;
    ub.advantages = adv;
    {  // the policy that searched = the parameters before this round's updates
      torch::NoGradGuard ng;
      ub.logp_old = batch.rows() == 0 ? batch.mask
                                      : nn::lm::token_logprobs(model_, batch.tokens, batch.attention).logp * batch.mask;
    }
    ub.turn = torch::zeros_like(batch.tokens);
    ub.sampled_entropy = torch::zeros_like(batch.mask);
    ub.valid = batch.mask;
    model_->train();
    const double progress =
        std::min(1.0, static_cast<double>(step_) / static_cast<double>(std::max<int64_t>(run_.total_steps, 1)));
    // Data-parallel: the mini-batch shuffle of this rank's rows from a generator of (seed, round, rank).
    core::Rng shuffle_rng(static_cast<uint64_t>(run_.seed) * 1000003ULL + static_cast<uint64_t>(round) * 7919ULL + rank_salt);
    const core::MetricRow update_row = update_->run(ub, dp ? shuffle_rng : rng_, progress);
    row.emplace_back("pg/reward_mean", global.rewards.mean().item<double>());
    row.emplace_back("pg/correct_frac", (global.rewards > 0).to(torch::kFloat64).mean().item<double>());
    row.emplace_back("pg/nonzero_adv_frac", ((global_adv.abs() > 0).to(torch::kFloat32) * global.mask).sum().item<double>() /
                                                global.mask.sum().item<double>());
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

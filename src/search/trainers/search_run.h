// What the learning-from-search trainers (mcts_dpo, mcts_value, search_pg) share, on top of the LM
// run loop (train/lm/lm_run.h: checkpoints every run.checkpoint_every rounds, stop/split, resume,
// metrics, RUN_DIR/model at the end): one RL step = one round = search `search.problems` fresh
// problems with MCTS ([mcts]) under the current policy, then learn from the trees. Each round's
// problems and sampling seeds are functions of (run.seed, round), so a resumed run searches exactly
// what the unsplit run would have.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/env/text/task.h"
#include "rlpp/search/lm_step_model.h"
#include "rlpp/search/mcts.h"
#include "train/lm/lm_run.h"

namespace rlpp::search {

struct SearchRoundOptions {  // [search]
  int64_t problems = 32;          // fresh problems searched per round
  double temperature = 1.0;       // sampling temperature of the search's steps
  int64_t max_step_tokens = 32;   // a longer line ends the solution
  double learning_rate = 1e-4;    // AdamW on the policy (constant)
  double weight_decay = 0.0;
  int64_t eval_every = 1;         // rounds between evaluations (0 = at the end only)
  int64_t accuracy_examples = 256;  // held-out prompts decoded greedily (0 = off)
  int64_t eval_batch_size = 64;
  int64_t max_new_tokens = 64;    // greedy evaluation's response budget

  void bind(core::Binder& b);
};

struct RoundSearch {
  double reward_mean = 0;    // mean terminal reward of the searches' chosen solutions
  double solved = 0;         // fraction of problems whose chosen solution the verifier accepts
  int64_t tokens_generated = 0;
  int64_t nodes = 0;         // tree nodes over all problems
};

// The step-search budget of the trainers that learn from sibling steps (mcts_dpo, search_pg):
// k = 4 steps per expansion, 8 iterations per move (× 2 at the root).
MctsOptions step_search_defaults();

class SearchRun : public train::lm::LmRun {
 public:
  train::EvalResult evaluate(const train::EvalRequest& req) override;

 protected:
  // Reads [search] and [mcts] (defaults of `mcts_defaults` for keys the recipe leaves out).
  SearchRun(const core::Recipe& recipe, const train::RunContext& ctx, const MctsOptions& mcts_defaults);
  void build_search_policy() { build_policy(train::lm::AdamWSettings{search_.learning_rate, search_.weight_decay}); }

  std::vector<env::text::TaskInstance> problems_of_round(int64_t round, int64_t n, uint64_t salt = 0) const;
  Tokens prompt_of(const env::text::TaskInstance& inst) const;

  using TreeVisitor = std::function<void(int64_t problem, const Tokens& prompt, const Mcts& tree, const MctsResult& r)>;
  // Searches each problem with MCTS under the current policy (eval mode, no grad): step sampling
  // seeded by `seed`; `value` values non-terminal states ({} = 0); `visit` reads each finished tree.
  RoundSearch search(const std::vector<env::text::TaskInstance>& problems, int64_t seed, const SequenceValueFn& value,
                     const TreeVisitor& visit);
  static void append(core::MetricRow& row, const RoundSearch& s);
  // Data-parallel: this rank's near-equal share [first, last) of the round's n problems (every rank
  // draws the same ones: they are a function of the seed and the round).
  std::pair<int64_t, int64_t> share_of(int64_t n) const;
  // The round's statistics over every rank's share (`mine` over `problems` of them); one collective.
  RoundSearch over_ranks(const RoundSearch& mine, int64_t problems) const;

  void evaluate_into(core::MetricRow& row) override;  // greedy accuracy on the data's held-out split
  int64_t eval_every() const override { return search_.eval_every; }
  void write_search_options(toml::table* out) const;  // [search] and [mcts]

  SearchRoundOptions search_;
  MctsOptions mcts_;
};

}  // namespace rlpp::search

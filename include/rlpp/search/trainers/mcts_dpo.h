// `rlpp mcts-dpo RUN --out DIR`: the MCTS-DPO loop (arXiv 2405.00451) on a finished LM run, as a
// front end of the `mcts_dpo` trainer (trainers.h): the request becomes an mcts_dpo recipe that
// starts from RUN/model (RUN's [model] and [tokenizer]; the task run's [data] and [task]) and runs
// on the run loop into DIR. One round: MCTS on fresh problems under the current policy (step-reward
// backup with the policy's self-evaluation, mcts.h / self_evaluation.h) → sibling
// step pairs (highest- vs lowest-Q child, tree_data.h) → DPO / IPO epochs from the divergence
// point against the reference (step_dpo.h) → the policy becomes the next round's reference
// (dpo.refresh_every = 1). Greedy accuracy on `eval_problems` held-out problems (seed + 1) before
// the first round and after each. DIR is an ordinary run directory (recipe.toml, metrics.jsonl,
// checkpoints/, model/; Ctrl-C checkpoints, `rlpp resume DIR` continues) plus mcts_dpo.json, the
// rounds of a finished run.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/algo/preference.h"
#include "rlpp/search/mcts.h"

namespace rlpp::search {

struct MctsDpoRequest {
  std::string run_dir;
  std::string task_run_dir;  // "" = run_dir
  std::string out_dir;       // the run directory (model/, recipe.toml, mcts_dpo.json, ...)
  int64_t rounds = 2;
  int64_t problems = 64;     // searched per round (fresh each round)
  int64_t eval_problems = 200;
  int64_t epochs = 4;        // passes over a round's pairs
  int64_t batch_pairs = 32;
  double learning_rate = 1e-4;
  double min_gap = 0.5;      // |Q_w − Q_l| needed for a pair
  double temperature = 1.0;  // search sampling temperature
  MctsOptions mcts = [] {    // k = 4 steps per expansion, 8 iterations per move (× 2 at the root),
    MctsOptions o;           // the paper's step-reward backup (self-evaluation: the trainer's [self_eval])
    o.num_children = 4;
    o.iterations = 8;
    o.root_multiplier = 2;
    o.backup = "step_reward";
    return o;
  }();
  std::string loss = "dpo";  // "dpo" | "ipo" (step_dpo.h)
  algo::DpoOptions dpo;      // β = 0.1, label smoothing ε = 0
  // α of an added NLL term on the chosen steps' tokens (RPO, arXiv 2404.19733):
  // loss = DPO + α · (−Σ m_w log π(y_w) / Σ m_w); 0 = plain DPO.
  double nll_weight = 0.0;
  uint64_t seed = 4242;
  int64_t torch_threads = 1;
};

struct MctsDpoRound {
  int64_t round = 0;            // 0 = before training
  int64_t pairs = 0;
  double search_reward = 0;     // mean terminal reward of the round's searches
  double dpo_loss_first = 0, dpo_loss_last = 0;
  double reward_accuracy_last = 0;
  double greedy_accuracy = 0;   // held-out, after the round
  int64_t tokens_generated = 0;
};

struct MctsDpoOutcome {
  std::vector<MctsDpoRound> rounds;  // those done (round 0 = before training)
  bool finished = false;             // false: stopped early, checkpoint written (`rlpp resume`)
};

// The mcts_dpo recipe (TOML text) equivalent to `req`. UserError, before anything is written, for
// a bad option or a RUN that is not a finished LM run on a task (loaded_lm.h).
std::string mcts_dpo_recipe(const MctsDpoRequest& req);

// Writes that recipe to out_dir/recipe.toml and runs it (train::start_run, quiet); a finished run
// also gets out_dir/mcts_dpo.json. Refuses an out_dir that already holds a run. Nothing is left
// behind when the recipe is refused.
MctsDpoOutcome run_mcts_dpo(const MctsDpoRequest& req, const std::atomic<bool>& stop);

}  // namespace rlpp::search

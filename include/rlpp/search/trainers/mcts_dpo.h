// The MCTS-DPO loop (arXiv 2405.00451) on a finished LM run: for each round, search every training
// problem with MCTS (policy = the current model), read step-level preference pairs off the trees
// (highest- vs lowest-Q sibling, tree_data.h), take DPO steps on them from the divergence point
// against a reference model (algo::dpo_loss), then refresh: the trained policy searches the next
// round and becomes its reference. Greedy accuracy on fixed held-out problems is measured before
// the first round and after every round; the final model is written to out_dir/model.
// The same loop with checkpoints and resume is the `mcts_dpo` trainer (search/trainers/trainers.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/algo/preference.h"
#include "rlpp/search/mcts.h"

namespace rlpp::search {

struct MctsDpoRequest {
  std::string run_dir;
  std::string task_run_dir;  // "" = run_dir
  std::string out_dir;       // receives model/ (Hugging Face format) and mcts_dpo.json
  int64_t rounds = 2;
  int64_t problems = 64;     // searched per round (fresh each round)
  int64_t eval_problems = 200;
  int64_t epochs = 4;        // passes over a round's pairs
  int64_t batch_pairs = 32;
  double learning_rate = 1e-4;
  double min_gap = 0.5;      // |Q_w − Q_l| needed for a pair
  double temperature = 1.0;  // search sampling temperature
  MctsOptions mcts = [] {    // k = 4 steps per expansion, 8 iterations per move (× 2 at the root)
    MctsOptions o;
    o.num_children = 4;
    o.iterations = 8;
    o.root_multiplier = 2;
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

std::vector<MctsDpoRound> run_mcts_dpo(const MctsDpoRequest& req);

}  // namespace rlpp::search

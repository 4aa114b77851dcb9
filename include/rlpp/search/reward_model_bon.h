// A learned outcome reward model under best-of-N, against the true verifier (`rlpp rm-bon`):
// the reward model is a ValueHead on the frozen policy's last-token hidden state, trained with the
// Bradley–Terry loss on (verified-correct, incorrect) sample pairs of training problems. On fresh
// problems, best-of-N by the reward model is scored twice: the proxy (mean reward-model score of
// the chosen samples) and the truth (the verifier's accuracy of the same samples). Over-optimising
// the proxy shows as a proxy that keeps rising while the truth stalls or falls (the o1 roadmap,
// arXiv 2412.14135; Gao et al., arXiv 2210.10760).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rlpp::search {

struct RewardModelBonRequest {
  std::string run_dir;
  std::string task_run_dir;   // "" = run_dir
  std::string out_dir;        // rm_bon.md, rm_bon.json, rm_bon.png
  int64_t train_problems = 256;
  int64_t eval_problems = 200;
  int64_t samples = 8;        // per training problem
  int64_t max_n = 64;         // best-of-N for N = 1, 2, 4, … ≤ max_n
  int64_t pairs_per_problem = 4;
  int64_t steps = 300;        // Adam steps of the head (full batch)
  double learning_rate = 1e-2;
  double temperature = 1.0;
  uint64_t seed = 99;
  int64_t torch_threads = 1;
};

struct RewardModelBonPoint {
  int64_t n = 1;
  double proxy = 0;           // mean reward-model score of the chosen samples
  double true_accuracy = 0;   // verifier accuracy of the chosen samples
  double oracle_accuracy = 0;  // best-of-N by the verifier itself (pass@N)
};

struct RewardModelBonResult {
  int64_t train_pairs = 0;
  double train_pair_accuracy = 0;   // BT accuracy on the training pairs after training
  double heldout_pair_accuracy = 0;  // on (correct, incorrect) pairs of the evaluation problems
  std::vector<RewardModelBonPoint> points;
};

RewardModelBonResult run_reward_model_bon(const RewardModelBonRequest& req);

}  // namespace rlpp::search

// Accuracy against test-time compute of a trained language-model run (`rlpp search-eval`): on
// fresh problems of the run's task, greedy decoding and, for each budget b,
//   majority@b        self-consistency over b samples (no verifier)
//   best-of-b/logp    the sample with the highest mean token log-prob (no verifier)
//   best-of-b/verifier the sample the task's verifier accepts, if any (oracle: = pass@b)
//   beam/b            step-level beam search, B1 = 1, B2 = b, states valued by one graded rollout
//   mcts/b            MCTS with 2 children per expansion, 2b iterations per move, terminal rewards
//                     from the verifier, no value model
//   mcts_pw/b         the same with progressive widening (c_pw = 1, α_pw = ½): revisited nodes
//                     sample further steps
// Compute is the tokens generated per problem (and model calls per problem) by each method.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rlpp::search {

struct ComputeCurveRequest {
  std::string run_dir;
  std::string task_run_dir;             // the run defining the task; "" = run_dir (loaded_lm.h)
  int64_t problems = 64;
  uint64_t seed = 20261201;             // seed of the problems (distinct from training and held-out)
  std::vector<int64_t> budgets = {1, 2, 4, 8};
  double temperature = 1.0;
  std::vector<std::string> methods = {"greedy", "majority", "best_of_n_logp", "best_of_n_verifier", "beam", "mcts", "mcts_pw"};
  int64_t max_new_tokens = 64;
  int64_t torch_threads = 1;
};

struct ComputePoint {
  std::string method;
  int64_t budget = 1;
  double accuracy = 0;
  double tokens_per_problem = 0;
  double model_calls_per_problem = 0;
};

// UserError when the run directory lacks recipe.toml or model/, or its data is not a task.
std::vector<ComputePoint> compute_curve(const ComputeCurveRequest& req);

// The points as a markdown table (method, budget, accuracy, tokens/problem, calls/problem).
std::string compute_table(const std::vector<ComputePoint>& points);

// Writes DIR/compute_curve.md (the table), DIR/compute_curve.json and DIR/compute_curve.png
// (accuracy against tokens per problem, one curve per method); returns the paths written.
std::vector<std::string> write_compute_curve(const std::vector<ComputePoint>& points, const std::string& dir);

}  // namespace rlpp::search

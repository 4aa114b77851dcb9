// C³-Bench metrics (arXiv 2505.18746) over replayed tasks, plus τ-bench's pass^k (arXiv 2406.12045).
// Every number is a plain mean over the tasks it names (all trials pooled); docs/agent-bench.md
// defines each one. The JSON layout (fixed key names) is what metrics.json holds:
//
//   overall            {n, action_acc, args_acc, progress, optimal_rate, solved}
//   by_position_type   {"1": {"single_tool": {n, action_acc, args_acc}, ...}, ...}  (1-based)
//   by_position, by_type, by_shape (parallel / serial / combined / single / none)
//   progress_by_type   mean accomplish progress per type
//   optimal_path       {rate, among_solved, multi_tool_rate}
//   type_paths         {"single_tool>chat": {n, action_acc, args_acc}, ...}
//   type_path_variance {action, args}   population variance of the per-path accuracies
//   prefix_accuracy    {"single_tool>chat": {n, action_acc, args_acc}}  (the prefix's last task)
//   multi_turn         {true, false, unknown}: {n, action_acc, args_acc};  turn_subtypes {...}
//   errors             {action: {name: count}, argument: {name: count}, failed_tasks, arg_failed_tasks}
//   pass_hat_k         {"1": ..., "n": ...}   (args-level success, tasks = (case, position))
//   trials, request_errors
#pragma once
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/harness/replay.h"

namespace rlpp::harness {

// C(n, k) as a double (0 when k > n).
double binomial(int n, int k);

// pass^k = mean over tasks of C(c, k) / C(n, k), c = successes of the task in its n trials.
// `successes[i]` = c of task i; every task has `n` trials. k in 1..n.
double pass_hat_k(const std::vector<int>& successes, int n, int k);

nlohmann::json compute_metrics(const std::vector<TaskResult>& results, int trials);

}  // namespace rlpp::harness

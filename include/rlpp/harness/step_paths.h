// Step paths of a task's golden DAG (C³-Bench, arXiv 2505.18746, "dynamic decision paths").
//
// A step is what one assistant reply does: a set of parallel tool calls, or one pseudo-action
// (ask_user_for_required_parameters, prepare_to_answer). Rule used here:
//   * ready(D) = nodes not in D whose dependencies are all in D (D = the nodes done so far);
//   * a tool step is ANY non-empty subset of the ready tool nodes. Ready nodes never depend on one
//     another (their dependencies are all done), so every such subset is an antichain of the DAG and
//     the calls can run in parallel; conversely a parallel step must consist of ready nodes;
//   * ask_user is a step of its own when ready; prepare_to_answer is a step of its own and only
//     once every other node is done (it ends the task, so it implicitly depends on everything).
// A path runs from D = {} to all nodes done. Paths are deduplicated by their sequence of name
// multisets (two same-named calls swapped give one path) and the shortest are marked optimal.
// n fully parallel calls give the ordered Bell (Fubini) number of paths: 1, 3, 13, 75, 541, ...
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "rlpp/harness/case.h"

namespace rlpp::harness {

struct Step {
  NodeKind kind = NodeKind::kTool;
  std::vector<int> nodes;           // positions in Task::nodes (the first path found with these names)
  std::vector<std::string> names;   // the nodes' names, sorted: the multiset a reply must match
};

struct StepPath {
  std::vector<Step> steps;
  bool optimal = false;             // steps.size() is the minimum over all paths of the task
};

struct PathOptions {
  // Enumeration stops with std::length_error when more than this many node-level paths exist
  // (before deduplication); the message names the count of tool calls and the limit.
  size_t max_paths = 20000;
  // false keeps every node-level path (the replay needs node identities to pick observations when
  // two calls share a name); the reported path counts are always deduplicated.
  bool dedupe_by_names = true;
};

// Every step path of `nodes` (a validated DAG, see parse_case), in a fixed order: at each step
// larger subsets first, then by node position. Throws std::length_error past opts.max_paths
// or when more than 16 tool calls are ready at once (2^16 candidate steps).
std::vector<StepPath> enumerate_step_paths(const std::vector<GoldenNode>& nodes, const PathOptions& opts = {});

// "a,b" for {b, a}: the sorted names joined by ','; the key of a step's multiset.
std::string step_key(const std::vector<std::string>& sorted_names);

// Shape of the tool part of a DAG (edges between tool nodes only): kSingle (< 2 tool nodes),
// kParallel (no edges), kSerial (one topological order: a chain), kCombined (anything else).
enum class DagShape { kNone, kSingle, kParallel, kSerial, kCombined };
DagShape dag_shape(const std::vector<GoldenNode>& nodes);
const char* dag_shape_name(DagShape s);

}  // namespace rlpp::harness

// Training data read off a search tree.
//   step_preferences: MCTS-DPO's step-level pairs (arXiv 2405.00451): among the children of every
//     expanded node, the highest-Q child is chosen and the lowest-Q child rejected (when their Q
//     differ by at least min_gap), sharing the node's state as prefix: DPO from the divergence point.
//   value_targets: AlphaMath's value-head targets (arXiv 2405.03553): every visited node's state and
//     its Q, for MSE(tanh(v(state)), Q).
//   terminal_trajectories: every finished solution in the tree (all attempts, failures included: the
//     roadmap's D_search), each with its verifier reward and per-step advantages Q(step) − Q(parent)
//     (the step's Q-value against its state's value), for policy gradient on searched data.
#pragma once
#include <cstdint>
#include <vector>

#include "rlpp/search/mcts.h"

namespace rlpp::search {

struct StepPreference {
  Tokens prefix;    // the parent's state (root state + steps)
  Tokens chosen;    // the highest-Q child's step
  Tokens rejected;  // the lowest-Q child's step
  double q_chosen = 0;
  double q_rejected = 0;
};
// Nodes in tree order; min_visits: both children must have been visited at least this often.
std::vector<StepPreference> step_preferences(const Mcts& tree, double min_gap = 0.0, int64_t min_visits = 0);

struct ValueTarget {
  Tokens state;
  double q = 0;
  int64_t visits = 0;
};
std::vector<ValueTarget> value_targets(const Mcts& tree, int64_t min_visits = 1);

struct SearchTrajectory {
  Tokens steps;                          // the steps from the original root to a terminal node, concatenated
  std::vector<int64_t> step_lengths;     // tokens of each step
  std::vector<double> step_advantages;   // Q(node) − Q(parent) of each step (Q as MctsNode::q())
  std::vector<double> step_values;       // Q(parent) of each step: the value of the state it starts from
  double reward = 0;                     // the terminal reward
  int64_t node = -1;                     // the terminal node
};
// Terminal nodes in tree order.
std::vector<SearchTrajectory> terminal_trajectories(const Mcts& tree);

}  // namespace rlpp::search

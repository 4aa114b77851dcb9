// Monte Carlo tree search over reasoning steps (MCTS-DPO arXiv 2405.00451, AlphaMath arXiv
// 2405.03553), generic over a StepModel.
//
// One iteration:
//   select   from the root, while the node is expanded and not terminal, go to the child maximising
//            PUCT(c) = Q(c) + c_puct · p(c) · sqrt(N(parent)) / (1 + N(c))
//   expand   the reached node (unless terminal or at max_depth): k candidate steps from the policy in
//            one batch, identical steps merged; every new child is valued at once (one batched
//            evaluate() call; terminal children take the verifier's reward)
//   backup   backup = "mean" (AlphaZero/AlphaMath): v = the reached node's value (terminal: its
//            reward) is added along the path: N += 1, W += v, Q = W / N.
//            backup = "step_reward" (MCTS-DPO, arXiv 2405.00451 §2.1): every step a from s carries
//            its own reward R(s,a) = O(s') + λ·C(s,a), O = the verifier's ±1 on a finished solution
//            (0 otherwise), C ∈ [0, 1] the policy's self-evaluation of the step (self_evaluation.h;
//            0 without one); from the reached node up to the root:
//              N(s) += 1,  V(s) = Σ_a max(1, N(s'_a))·Q(s,a) / Σ_a max(1, N(s'_a))  (children of s),
//              Q(s,a) = R(s,a) + γ·V(s')
//            (a node without children keeps V = its evaluation at creation; a finished solution 0).
// Q of a child never visited is its evaluation (mean) or R + γ·evaluation (step_reward), so fresh
// evaluations steer selection at once, as MCTS-DPO's Q at expansion. Prior p = exp(Σ log π(step) /
// len^α): α = 1.25 is MCTS-DPO's length penalty, α = 1 AlphaMath's exp(mean token log-prob).
//
// Progressive widening (off by default; Coulom 2007, Couëtoux et al. 2011): a node may hold at
// most ceil(c_pw · N(node)^α_pw) children. When selection reaches an expanded node whose bound
// allows more children than it has, the missing ones are sampled in one batch (merged with each
// other and with the existing children), valued in one batch, and the best new child by PUCT is
// the iteration's leaf: its evaluation is backed up. With a confident policy, k samples at the first
// expansion often collapse to one or two distinct lines; widening keeps adding lines as the node
// is revisited, so extra iterations keep buying new steps.
//
// Re-rooting: advance() moves the root to its most visited child, keeping that subtree; solve()
// alternates `iterations` (× root_multiplier for the first move) of search and a move until a
// terminal step or max_depth.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/search/step_model.h"

namespace rlpp::search {

// The self-evaluation C ∈ [0, 1] of each candidate step in `steps`, all taken from the state
// `state` of `model`'s current problem, in one batched call (self_evaluation.h).
using StepConfidenceFn =
    std::function<std::vector<double>(StepModel& model, const Tokens& state, const std::vector<Tokens>& steps)>;

struct MctsOptions {
  double c_puct = 1.0;                 // MCTS-DPO 1.0, AlphaMath 1.5
  int64_t num_children = 2;            // k steps sampled per expansion (MCTS-DPO 2, AlphaMath 5)
  int64_t iterations = 64;             // per move
  int64_t root_multiplier = 4;         // the first move searches iterations × this
  double prior_length_exponent = 1.25;  // α in p = exp(Σ log π / len^α)
  int64_t max_depth = 8;               // steps from the original root
  bool progressive_widening = false;   // off: a node is expanded once (k samples)
  double widening_c = 1.0;             // c_pw in ceil(c_pw · N^α_pw)
  double widening_alpha = 0.5;         // α_pw
  std::string backup = "mean";         // "mean" (W / N) | "step_reward" (MCTS-DPO's R + γ·V)
  double gamma = 1.0;                  // γ of step_reward (the authors' code: 1)
  double confidence_weight = 1.0;      // λ in R = O + λ·C (the paper: R = O + C)
  // Not a recipe key: the step self-evaluation of step_reward (unset: C = 0, R = O).
  StepConfidenceFn step_confidence;

  void bind(core::Binder& b);
  void validate() const;  // UserError naming the option
};

struct MctsNode {
  int64_t parent = -1;
  std::vector<int64_t> children;
  Tokens step;           // the tokens of the step leading here (empty at the original root)
  int64_t depth = 0;     // steps from the original root
  double prior = 1;      // p
  double value = 0;      // evaluation at creation (terminal: the reward)
  int64_t visits = 0;    // N
  double value_sum = 0;  // W (mean backup)
  bool terminal = false;
  bool expanded = false;
  // step_reward backup (MCTS-DPO):
  bool step_reward = false;  // this node's Q is q_step (its tree uses the step_reward backup)
  double confidence = -1;    // C ∈ [0, 1] of the step leading here (−1: not evaluated)
  double reward = 0;         // R(s,a) = O + λ·C of the step leading here
  double v = 0;              // V(s) of this node's state
  double q_step = 0;         // Q(s,a) = R + γ·V(s') of the step leading here

  // Q of the step leading here (the original root: its state's value).
  double q() const {
    if (step_reward) return parent < 0 ? v : q_step;
    return visits > 0 ? value_sum / static_cast<double>(visits) : value;
  }
};

struct MctsResult {
  Tokens solution;   // the steps chosen by re-rooting, concatenated
  bool terminal = false;
  double reward = 0;  // the terminal reward (0 when max_depth stopped the search first)
  SearchCompute compute;
};

class Mcts {
 public:
  // The root is the state `root_state` (valued at construction by one evaluate() call).
  Mcts(StepModel& model, MctsOptions opts, Tokens root_state = {});

  void run(int64_t iterations);
  MctsResult solve();

  // The parts of an iteration, public for tests and for callers that build trees by hand.
  double puct(int64_t child) const;          // PUCT score of `child` under its parent
  // Progressive widening's bound on the children of a node visited N times: ceil(c_pw · N^α_pw).
  int64_t child_limit(int64_t visits) const;
  int64_t select_child(int64_t node) const;  // argmax PUCT (ties: the earlier child)
  void backup(int64_t node, double v);       // mean: N += 1, W += v from `node` up to the root
  // step_reward: N += 1, V = visit-weighted Q of the children, Q = R + γ·V from `node` up.
  void backup_step_rewards(int64_t node);
  // Adds a child to `parent` with the prior of `c` and the given value (c.reward when terminal);
  // `confidence` is the step's self-evaluation C (−1: none, counts as 0 in R).
  int64_t add_child(int64_t parent, const StepCandidate& c, double value, double confidence = -1);
  int64_t advance();  // re-roots at the most visited child (ties: higher Q); returns it

  Tokens state(int64_t node) const;  // root_state + the steps from the original root to `node`
  int64_t root() const { return root_; }
  const std::vector<MctsNode>& nodes() const { return nodes_; }
  const MctsOptions& options() const { return opts_; }
  SearchCompute compute() const;  // spent by this tree since construction
  // The terminal node with the highest reward seen so far (−1 when none).
  int64_t best_terminal() const;

 private:
  // Samples `count` steps at `node` in one batch, merges them with each other and with the
  // existing children, values the new non-terminal ones in one batch; returns the new children.
  std::vector<int64_t> grow(int64_t node, int64_t count);

  StepModel& model_;
  MctsOptions opts_;
  Tokens root_state_;
  std::vector<MctsNode> nodes_;
  bool step_reward_ = false;  // opts_.backup == "step_reward"
  int64_t root_ = 0;
  SearchCompute start_;
};

}  // namespace rlpp::search

#include "rlpp/search/mcts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "rlpp/core/error.h"

namespace rlpp::search {

void MctsOptions::bind(core::Binder& b) {
  b.num("c_puct", c_puct, "PUCT exploration constant", core::Bounds::non_negative());
  b.integer("num_children", num_children, "steps sampled per expansion", core::Bounds::at_least(1));
  b.integer("iterations", iterations, "search iterations per move", core::Bounds::at_least(1));
  b.integer("root_multiplier", root_multiplier, "iteration multiplier of the first move", core::Bounds::at_least(1));
  b.num("prior_length_exponent", prior_length_exponent, "alpha in prior = exp(sum logp / len^alpha)",
        core::Bounds::non_negative());
  b.integer("max_depth", max_depth, "most steps in a solution", core::Bounds::at_least(1));
  b.flag("progressive_widening", progressive_widening, "add children to revisited nodes: at most ceil(c N^alpha)");
  b.num("widening_c", widening_c, "c_pw of progressive widening", core::Bounds::positive());
  b.num("widening_alpha", widening_alpha, "alpha_pw of progressive widening", core::Bounds{0.0, 1.0, false, false});
  b.choice("backup", backup, {"mean", "step_reward"},
           "mean: Q = W / N of backed-up leaf values; step_reward: Q = R + gamma V, R = outcome + lambda confidence "
           "(MCTS-DPO)");
  b.num("gamma", gamma, "discount of V(s') in the step_reward backup", core::Bounds::unit());
  b.num("confidence_weight", confidence_weight, "lambda in R = outcome + lambda confidence (step_reward backup)",
        core::Bounds::non_negative());
}

void MctsOptions::validate() const {
  core::require(c_puct >= 0, "mcts: c_puct must be >= 0, got " + std::to_string(c_puct));
  core::require(num_children >= 1, "mcts: num_children must be >= 1, got " + std::to_string(num_children));
  core::require(iterations >= 1, "mcts: iterations must be >= 1, got " + std::to_string(iterations));
  core::require(root_multiplier >= 1, "mcts: root_multiplier must be >= 1, got " + std::to_string(root_multiplier));
  core::require(prior_length_exponent >= 0,
                "mcts: prior_length_exponent must be >= 0, got " + std::to_string(prior_length_exponent));
  core::require(max_depth >= 1, "mcts: max_depth must be >= 1, got " + std::to_string(max_depth));
  core::require(widening_c > 0, "mcts: widening_c must be > 0, got " + std::to_string(widening_c));
  core::require(widening_alpha >= 0 && widening_alpha <= 1,
                "mcts: widening_alpha must be in [0, 1], got " + std::to_string(widening_alpha));
  core::require(backup == "mean" || backup == "step_reward",
                "mcts: backup must be \"mean\" or \"step_reward\", got \"" + backup + "\"");
  core::require(gamma >= 0 && gamma <= 1, "mcts: gamma must be in [0, 1], got " + std::to_string(gamma));
  core::require(confidence_weight >= 0,
                "mcts: confidence_weight must be >= 0, got " + std::to_string(confidence_weight));
}

Mcts::Mcts(StepModel& model, MctsOptions opts, Tokens root_state)
    : model_(model), opts_(opts), root_state_(std::move(root_state)), start_(model.compute()) {
  opts_.validate();
  step_reward_ = opts_.backup == "step_reward";
  MctsNode root;
  root.value = model_.evaluate({root_state_}).at(0);
  root.step_reward = step_reward_;
  root.v = root.value;
  nodes_.push_back(std::move(root));
}

double Mcts::puct(int64_t child) const {
  const MctsNode& c = nodes_.at(child);
  const MctsNode& p = nodes_.at(c.parent);
  return c.q() + opts_.c_puct * c.prior * std::sqrt(static_cast<double>(p.visits)) / (1.0 + c.visits);
}

int64_t Mcts::select_child(int64_t node) const {
  const MctsNode& n = nodes_.at(node);
  if (n.children.empty()) throw std::logic_error("mcts: select_child on a node without children");
  int64_t best = n.children[0];
  double best_score = puct(best);
  for (size_t i = 1; i < n.children.size(); ++i) {
    const double s = puct(n.children[i]);
    if (s > best_score) best = n.children[i], best_score = s;
  }
  return best;
}

void Mcts::backup(int64_t node, double v) {
  // Up to the original root: statistics above the current root stay consistent for later reuse.
  for (int64_t n = node; n >= 0; n = nodes_[n].parent) {
    nodes_[n].visits += 1;
    nodes_[n].value_sum += v;
  }
}

void Mcts::backup_step_rewards(int64_t node) {
  // MCTS-DPO (arXiv 2405.00451 §2.1): V(s) = Σ N(s')·Q(s,a) / Σ N(s'), Q(s,a) = R(s,a) + γ·V(s').
  // A child not visited yet counts once (max(1, N), as the authors' code): right after an
  // expansion every child is unvisited, and its Q (R + γ·evaluation) is all that is known.
  for (int64_t n = node; n >= 0; n = nodes_[n].parent) {
    MctsNode& x = nodes_[n];
    x.visits += 1;
    if (!x.children.empty()) {
      double num = 0, den = 0;
      for (int64_t c : x.children) {
        const double w = static_cast<double>(std::max<int64_t>(1, nodes_[c].visits));
        num += w * nodes_[c].q_step;
        den += w;
      }
      x.v = num / den;
    }
    if (x.parent >= 0) x.q_step = x.reward + opts_.gamma * x.v;
  }
}

int64_t Mcts::add_child(int64_t parent, const StepCandidate& c, double value, double confidence) {
  core::require(!c.tokens.empty(), "mcts: a step must have at least one token");
  MctsNode n;
  n.parent = parent;
  n.step = c.tokens;
  n.depth = nodes_.at(parent).depth + 1;
  // p = exp(Σ log π / len^α) (MCTS-DPO's length-normalised prior, arXiv 2405.00451).
  n.prior = std::exp(c.logp / std::pow(static_cast<double>(c.tokens.size()), opts_.prior_length_exponent));
  n.terminal = c.terminal;
  n.value = c.terminal ? c.reward : value;
  if (step_reward_) {
    // R = O + λ·C: O is the verifier's reward on a finished solution, 0 on an open one.
    n.step_reward = true;
    n.confidence = confidence;
    n.reward = (c.terminal ? c.reward : 0.0) + opts_.confidence_weight * std::max(0.0, confidence);
    n.v = c.terminal ? 0.0 : value;  // a finished solution has no future; an open one its evaluation
    n.q_step = n.reward + opts_.gamma * n.v;
  }
  nodes_.push_back(std::move(n));
  const int64_t id = static_cast<int64_t>(nodes_.size()) - 1;
  nodes_[parent].children.push_back(id);
  nodes_[parent].expanded = true;
  return id;
}

int64_t Mcts::child_limit(int64_t visits) const {
  // The small epsilon keeps exact products (c = 1, N = 4, α = ½ → 2) from rounding up.
  return static_cast<int64_t>(
      std::ceil(opts_.widening_c * std::pow(static_cast<double>(visits), opts_.widening_alpha) - 1e-9));
}

std::vector<int64_t> Mcts::grow(int64_t node, int64_t count) {
  const Tokens here = state(node);
  const std::vector<StepCandidate> cands = model_.expand({here}, count).at(0);
  nodes_[node].expanded = true;  // even with no children: the first expansion happens once
  // Merge identical steps (sampling repeats itself), with each other and with existing children.
  std::vector<const StepCandidate*> fresh;
  for (const StepCandidate& c : cands) {
    if (c.tokens.empty()) continue;
    bool seen = false;
    for (const StepCandidate* f : fresh) seen = seen || f->tokens == c.tokens;
    for (int64_t ch : nodes_[node].children) seen = seen || nodes_[ch].step == c.tokens;
    if (!seen) fresh.push_back(&c);
  }
  std::vector<Tokens> to_value;
  for (const StepCandidate* c : fresh) {
    if (c->terminal) continue;
    Tokens s = here;
    s.insert(s.end(), c->tokens.begin(), c->tokens.end());
    to_value.push_back(std::move(s));
  }
  std::vector<double> values;
  if (!to_value.empty()) values = model_.evaluate(to_value);
  // The self-evaluation of every new step (finished ones included: R = O + λ·C), in one call.
  std::vector<double> confidences(fresh.size(), -1.0);
  if (step_reward_ && opts_.step_confidence && opts_.confidence_weight > 0 && !fresh.empty()) {
    std::vector<Tokens> steps;
    for (const StepCandidate* c : fresh) steps.push_back(c->tokens);
    confidences = opts_.step_confidence(model_, here, steps);
    if (confidences.size() != fresh.size())
      throw std::logic_error("mcts: the step self-evaluation returned " + std::to_string(confidences.size()) +
                             " confidences for " + std::to_string(fresh.size()) + " steps");
  }
  size_t vi = 0;
  std::vector<int64_t> added;
  for (size_t i = 0; i < fresh.size(); ++i) {
    const StepCandidate* c = fresh[i];
    added.push_back(add_child(node, *c, c->terminal ? c->reward : values.at(vi++), confidences[i]));
  }
  return added;
}

void Mcts::run(int64_t iterations) {
  for (int64_t it = 0; it < iterations; ++it) {
    int64_t node = root_;
    while (!nodes_[node].terminal && nodes_[node].depth < opts_.max_depth) {
      if (!nodes_[node].expanded) {  // a leaf: expand it, back up its own value
        grow(node, opts_.num_children);
        break;
      }
      const int64_t have = static_cast<int64_t>(nodes_[node].children.size());
      const int64_t limit = opts_.progressive_widening ? child_limit(nodes_[node].visits) : 0;
      if (limit > have) {
        const std::vector<int64_t> added = grow(node, limit - have);
        if (!added.empty()) {  // the new child PUCT prefers is this iteration's leaf
          node = added[0];
          for (int64_t c : added)
            if (puct(c) > puct(node)) node = c;
          break;
        }
      }
      if (nodes_[node].children.empty()) break;
      node = select_child(node);
    }
    if (step_reward_) {
      backup_step_rewards(node);
    } else {
      backup(node, nodes_[node].value);
    }
  }
}

int64_t Mcts::advance() {
  const MctsNode& r = nodes_.at(root_);
  if (r.children.empty()) throw std::logic_error("mcts: advance from a root without children");
  int64_t best = r.children[0];
  for (int64_t c : r.children) {
    const MctsNode& n = nodes_[c];
    const MctsNode& b = nodes_[best];
    if (n.visits > b.visits || (n.visits == b.visits && n.q() > b.q())) best = c;
  }
  root_ = best;
  return root_;
}

MctsResult Mcts::solve() {
  int64_t iters = opts_.iterations * opts_.root_multiplier;
  while (!nodes_[root_].terminal && nodes_[root_].depth < opts_.max_depth) {
    run(iters);
    iters = opts_.iterations;
    if (nodes_[root_].children.empty()) break;  // the policy proposed nothing
    advance();
  }
  MctsResult out;
  out.solution = state(root_);
  out.solution.erase(out.solution.begin(), out.solution.begin() + static_cast<int64_t>(root_state_.size()));
  out.terminal = nodes_[root_].terminal;
  out.reward = out.terminal ? nodes_[root_].value : 0.0;
  out.compute = compute();
  return out;
}

Tokens Mcts::state(int64_t node) const {
  std::vector<int64_t> path;
  for (int64_t n = node; n > 0; n = nodes_.at(n).parent) path.push_back(n);
  Tokens s = root_state_;
  for (auto it = path.rbegin(); it != path.rend(); ++it) s.insert(s.end(), nodes_[*it].step.begin(), nodes_[*it].step.end());
  return s;
}

SearchCompute Mcts::compute() const { return model_.compute() - start_; }

int64_t Mcts::best_terminal() const {
  int64_t best = -1;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].terminal && (best < 0 || nodes_[i].value > nodes_[best].value)) best = static_cast<int64_t>(i);
  return best;
}

}  // namespace rlpp::search

#include "rlpp/search/tree_data.h"

namespace rlpp::search {

std::vector<StepPreference> step_preferences(const Mcts& tree, double min_gap, int64_t min_visits) {
  std::vector<StepPreference> out;
  const auto& nodes = tree.nodes();
  for (size_t n = 0; n < nodes.size(); ++n) {
    int64_t hi = -1, lo = -1;
    for (int64_t c : nodes[n].children) {
      if (nodes[c].visits < min_visits) continue;
      if (hi < 0 || nodes[c].q() > nodes[hi].q()) hi = c;       // ties: the earlier child
      if (lo < 0 || nodes[c].q() < nodes[lo].q()) lo = c;
    }
    if (hi < 0 || hi == lo || nodes[hi].q() - nodes[lo].q() < min_gap) continue;
    out.push_back({tree.state(static_cast<int64_t>(n)), nodes[hi].step, nodes[lo].step, nodes[hi].q(), nodes[lo].q()});
  }
  return out;
}

std::vector<ValueTarget> value_targets(const Mcts& tree, int64_t min_visits) {
  std::vector<ValueTarget> out;
  const auto& nodes = tree.nodes();
  for (size_t n = 0; n < nodes.size(); ++n)
    if (nodes[n].visits >= min_visits) out.push_back({tree.state(static_cast<int64_t>(n)), nodes[n].q(), nodes[n].visits});
  return out;
}

std::vector<SearchTrajectory> terminal_trajectories(const Mcts& tree) {
  std::vector<SearchTrajectory> out;
  const auto& nodes = tree.nodes();
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (!nodes[n].terminal) continue;
    std::vector<int64_t> path;  // terminal node up to (not including) the original root
    for (int64_t x = static_cast<int64_t>(n); x > 0; x = nodes[x].parent) path.push_back(x);
    SearchTrajectory t;
    t.node = static_cast<int64_t>(n);
    t.reward = nodes[n].value;
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      const MctsNode& c = nodes[*it];
      t.steps.insert(t.steps.end(), c.step.begin(), c.step.end());
      t.step_lengths.push_back(static_cast<int64_t>(c.step.size()));
      t.step_advantages.push_back(c.q() - nodes[c.parent].q());
      t.step_values.push_back(nodes[c.parent].q());
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace rlpp::search

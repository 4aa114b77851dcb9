#include "rlpp/harness/step_paths.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "rlpp/core/strings.h"

namespace rlpp::harness {

namespace {

struct Enumerator {
  const std::vector<GoldenNode>& nodes;
  size_t max_paths;
  bool dedupe;
  size_t found = 0;
  std::set<std::string> seen;   // dedup keys: step keys joined by '|'
  std::vector<StepPath> out;
  std::vector<Step> cur;
  std::vector<bool> done;

  bool is_ready(size_t i) const {
    if (done[i]) return false;
    for (int d : nodes[i].deps)
      if (!done[d]) return false;
    if (nodes[i].kind == NodeKind::kPrepareToAnswer)
      for (size_t k = 0; k < nodes.size(); ++k)
        if (k != i && !done[k]) return false;
    return true;
  }

  Step make_step(NodeKind kind, std::vector<int> ids) const {
    Step s;
    s.kind = kind;
    s.nodes = std::move(ids);
    for (int i : s.nodes) s.names.push_back(nodes[i].name);
    std::sort(s.names.begin(), s.names.end());
    return s;
  }

  void visit(const Step& s) {
    for (int i : s.nodes) done[i] = true;
    cur.push_back(s);
    recurse();
    cur.pop_back();
    for (int i : s.nodes) done[i] = false;
  }

  void recurse() {
    std::vector<int> ready_tools, ready_pseudo;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (is_ready(i)) (nodes[i].kind == NodeKind::kTool ? ready_tools : ready_pseudo).push_back(static_cast<int>(i));
    if (ready_tools.empty() && ready_pseudo.empty()) {
      if (++found > max_paths)
        throw std::length_error("more than " + std::to_string(max_paths) + " step paths (" +
                                std::to_string(nodes.size()) + " golden nodes); raise the path limit (--max-paths)");
      std::string key;
      for (const auto& s : cur) key += step_key(s.names) + "|";
      if (!dedupe || seen.insert(key).second) out.push_back(StepPath{cur, false});
      return;
    }
    // Subsets of the ready tool nodes, larger first, each in increasing-position order.
    const size_t r = ready_tools.size();
    if (r > 16) throw std::length_error(std::to_string(r) + " tool calls ready at once; too many step paths to enumerate");
    std::vector<std::vector<int>> subsets;
    for (uint32_t mask = 1; mask < (1u << r); ++mask) {
      std::vector<int> ids;
      for (size_t b = 0; b < r; ++b)
        if (mask & (1u << b)) ids.push_back(ready_tools[b]);
      subsets.push_back(std::move(ids));
    }
    std::stable_sort(subsets.begin(), subsets.end(), [](const auto& a, const auto& b) {
      return a.size() != b.size() ? a.size() > b.size() : a < b;
    });
    for (auto& ids : subsets) visit(make_step(NodeKind::kTool, ids));
    for (int p : ready_pseudo) visit(make_step(nodes[p].kind, {p}));
  }
};

}  // namespace

std::string step_key(const std::vector<std::string>& sorted_names) { return core::join(sorted_names, ","); }

std::vector<StepPath> enumerate_step_paths(const std::vector<GoldenNode>& nodes, const PathOptions& opts) {
  Enumerator e{nodes, opts.max_paths, opts.dedupe_by_names, 0, {}, {}, {}, {}};
  e.done.assign(nodes.size(), false);
  e.recurse();
  size_t best = SIZE_MAX;
  for (const auto& p : e.out) best = std::min(best, p.steps.size());
  for (auto& p : e.out) p.optimal = p.steps.size() == best;
  return std::move(e.out);
}

DagShape dag_shape(const std::vector<GoldenNode>& nodes) {
  std::vector<int> tools;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].kind == NodeKind::kTool) tools.push_back(static_cast<int>(i));
  if (tools.empty()) return DagShape::kNone;
  if (tools.size() == 1) return DagShape::kSingle;
  auto is_tool = [&](int i) { return nodes[i].kind == NodeKind::kTool; };
  size_t edges = 0;
  for (int t : tools)
    for (int d : nodes[t].deps) edges += is_tool(d);
  if (edges == 0) return DagShape::kParallel;
  // A chain iff peeling ready tool nodes one layer at a time always finds exactly one.
  std::vector<bool> done(nodes.size(), false);
  for (size_t round = 0; round < tools.size(); ++round) {
    int ready = -1, count = 0;
    for (int t : tools) {
      if (done[t]) continue;
      bool ok = true;
      for (int d : nodes[t].deps) ok = ok && (!is_tool(d) || done[d]);
      if (ok) ready = t, ++count;
    }
    if (count != 1) return DagShape::kCombined;
    done[ready] = true;
  }
  return DagShape::kSerial;
}

const char* dag_shape_name(DagShape s) {
  switch (s) {
    case DagShape::kNone: return "none";
    case DagShape::kSingle: return "single";
    case DagShape::kParallel: return "parallel";
    case DagShape::kSerial: return "serial";
    case DagShape::kCombined: return "combined";
  }
  return "?";
}

}  // namespace rlpp::harness

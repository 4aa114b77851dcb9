#include "rlpp/search/beam_search.h"

#include <algorithm>
#include <string>

#include "rlpp/core/error.h"

namespace rlpp::search {

void BeamSearchOptions::bind(core::Binder& b) {
  b.integer("beam_width", beam_width, "partial solutions kept per depth (B1)", core::Bounds::at_least(1));
  b.integer("expansions", expansions, "candidate steps per partial solution (B2)", core::Bounds::at_least(1));
  b.integer("max_depth", max_depth, "most steps in a solution", core::Bounds::at_least(1));
}

void BeamSearchOptions::validate() const {
  core::require(beam_width >= 1, "beam_search: beam_width must be >= 1, got " + std::to_string(beam_width));
  core::require(expansions >= 1, "beam_search: expansions must be >= 1, got " + std::to_string(expansions));
  core::require(max_depth >= 1, "beam_search: max_depth must be >= 1, got " + std::to_string(max_depth));
}

namespace {

struct Beam {
  Tokens state;  // root_state + steps
  double score = 0;
  bool terminal = false;
};

}  // namespace

BeamSearchResult beam_search(StepModel& model, const BeamSearchOptions& opts, const Tokens& root_state) {
  opts.validate();
  const SearchCompute start = model.compute();
  std::vector<Beam> beams = {{root_state, 0.0, false}};
  Beam best_finished;
  bool have_finished = false;
  for (int64_t depth = 0; depth < opts.max_depth && !beams.empty(); ++depth) {
    std::vector<Tokens> states;
    for (const Beam& b : beams) states.push_back(b.state);
    const auto cands = model.expand(states, opts.expansions);
    std::vector<Beam> next;
    std::vector<Tokens> to_value;
    std::vector<size_t> value_slot;
    for (size_t i = 0; i < beams.size(); ++i) {
      for (const StepCandidate& c : cands.at(i)) {
        if (c.tokens.empty()) continue;
        Beam nb{beams[i].state, c.reward, c.terminal};
        nb.state.insert(nb.state.end(), c.tokens.begin(), c.tokens.end());
        if (std::any_of(next.begin(), next.end(), [&](const Beam& o) { return o.state == nb.state; })) continue;
        if (!c.terminal) {
          to_value.push_back(nb.state);
          value_slot.push_back(next.size());
        }
        next.push_back(std::move(nb));
      }
    }
    if (!to_value.empty()) {
      const std::vector<double> v = model.evaluate(to_value);
      for (size_t j = 0; j < value_slot.size(); ++j) next[value_slot[j]].score = v.at(j);
    }
    // Finished candidates leave the beam; the rest compete for B1 slots by value.
    std::vector<Beam> open;
    for (Beam& b : next) {
      if (b.terminal) {
        if (!have_finished || b.score > best_finished.score) best_finished = b, have_finished = true;
      } else {
        open.push_back(std::move(b));
      }
    }
    std::stable_sort(open.begin(), open.end(), [](const Beam& a, const Beam& b) { return a.score > b.score; });
    if (static_cast<int64_t>(open.size()) > opts.beam_width) open.resize(opts.beam_width);
    beams = std::move(open);
  }
  BeamSearchResult out;
  const Beam* pick = have_finished ? &best_finished : (beams.empty() ? nullptr : &beams.front());
  if (pick != nullptr) {
    out.solution.assign(pick->state.begin() + static_cast<int64_t>(root_state.size()), pick->state.end());
    out.terminal = pick->terminal;
    out.score = pick->score;
  }
  out.compute = model.compute() - start;
  return out;
}

}  // namespace rlpp::search

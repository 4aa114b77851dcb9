// Step-level beam search guided by a value model (AlphaMath's inference, arXiv 2405.03553): keep
// the B1 best partial solutions by value, expand each into B2 candidate steps (one batch), value the
// new states (terminal: the verifier's reward), keep the best B1, repeat; a terminal candidate is
// finished and competes with later ones by its score. Returns the best finished solution.
#pragma once
#include <cstdint>

#include "rlpp/core/config.h"
#include "rlpp/search/step_model.h"

namespace rlpp::search {

struct BeamSearchOptions {
  int64_t beam_width = 1;     // B1 (AlphaMath 1)
  int64_t expansions = 5;     // B2 candidates per beam (AlphaMath 5)
  int64_t max_depth = 8;      // most steps

  void bind(core::Binder& b);
  void validate() const;
};

struct BeamSearchResult {
  Tokens solution;          // the best finished solution's steps (best partial one if none finished)
  bool terminal = false;
  double score = 0;         // its value (terminal: the reward the step model reported)
  SearchCompute compute;
};

// Searches from `root_state`; ties in score keep the earlier candidate (beam order, then step order).
BeamSearchResult beam_search(StepModel& model, const BeamSearchOptions& opts, const Tokens& root_state = {});

}  // namespace rlpp::search

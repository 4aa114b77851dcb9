// Step-level beam search against brute force on the digit game.
#include <gtest/gtest.h>

#include "rlpp/core/error.h"
#include "rlpp/search/beam_search.h"
#include "search/toy_game.h"

using namespace rlpp;
using namespace rlpp::search;

TEST(BeamSearch, PerfectValueFunctionReturnsTheBestPath) {
  // Base 4, 4 digits, target 201 = (3 0 2 1)_4; greedy on the digit alone would be wrong.
  toy::DigitGame game(4, 4, 201, 40.0);
  game.value_fn = [&game](const Tokens& s) { return game.best_from(s); };  // V* by brute force
  BeamSearchOptions opts;
  opts.beam_width = 1;
  opts.expansions = 4;
  opts.max_depth = 4;
  const BeamSearchResult r = beam_search(game, opts);
  EXPECT_TRUE(r.terminal);
  EXPECT_EQ(r.solution, (Tokens{3, 0, 2, 1}));
  EXPECT_NEAR(r.score, 1.0, 1e-12);
  // Depth 0..3: one beam expanded per depth; the three non-terminal depths value 4 states each.
  EXPECT_EQ(r.compute.expansions, 4);
  EXPECT_EQ(r.compute.evaluations, 12);
}

TEST(BeamSearch, AMisleadingValueNeedsAWiderBeam) {
  // The value prefers small first digits: width 1 commits to 0 and cannot reach 201; a beam
  // holding every partial solution (width 64) still finds the optimum because terminal rewards
  // come from the verifier.
  toy::DigitGame game(4, 4, 201, 40.0);
  game.value_fn = [](const Tokens& s) { return -static_cast<double>(s.front()); };
  BeamSearchOptions opts;
  opts.expansions = 4;
  opts.max_depth = 4;
  opts.beam_width = 1;
  EXPECT_LT(beam_search(game, opts).score, 1.0);
  opts.beam_width = 64;
  const BeamSearchResult r = beam_search(game, opts);
  EXPECT_EQ(r.solution, (Tokens{3, 0, 2, 1}));
  EXPECT_NEAR(r.score, game.best_from({}), 1e-12);
}

TEST(BeamSearch, BadOptionsAreUserErrors) {
  toy::DigitGame game(4, 4, 201, 40.0);
  BeamSearchOptions opts;
  opts.beam_width = 0;
  EXPECT_THROW(beam_search(game, opts), core::UserError);
}

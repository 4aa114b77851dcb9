// What a step-level search needs from a policy: propose next steps, value partial solutions.
//
// A state is the token sequence of a partial solution (the concatenated steps taken so far; the
// prompt is the model's business). A step is a chunk of tokens: one line of a worked solution for
// a language model (lm_step_model.h), one move for a game. Tree search (mcts.h), step-level beam
// search (beam_search.h) and the tests' small games all share this interface, so every search
// runs the same with a real model or with an exactly-known toy.
#pragma once
#include <cstdint>
#include <vector>

namespace rlpp::search {

using Tokens = std::vector<int64_t>;

struct StepCandidate {
  Tokens tokens;          // the step's tokens (non-empty)
  double logp = 0;        // Σ log π(token) of the step under the policy (temperature 1)
  bool terminal = false;  // the step ends the solution
  double reward = 0;      // terminal reward (verifier: +1 correct, −1 wrong); read only when terminal
};

// Compute spent by a search: every search reports it, so accuracy can be plotted against it.
struct SearchCompute {
  int64_t tokens_generated = 0;  // tokens sampled by the policy
  int64_t model_calls = 0;       // forward passes of any model (policy prefill/decode, value, reward)
  int64_t expansions = 0;        // states expanded
  int64_t evaluations = 0;       // non-terminal states valued

  SearchCompute& operator+=(const SearchCompute& o) {
    tokens_generated += o.tokens_generated;
    model_calls += o.model_calls;
    expansions += o.expansions;
    evaluations += o.evaluations;
    return *this;
  }
  // The compute spent between two readings of a StepModel's counters.
  friend SearchCompute operator-(SearchCompute a, const SearchCompute& b) {
    a.tokens_generated -= b.tokens_generated;
    a.model_calls -= b.model_calls;
    a.expansions -= b.expansions;
    a.evaluations -= b.evaluations;
    return a;
  }
};

class StepModel {
 public:
  virtual ~StepModel() = default;
  // Up to k candidate next steps for each state (one batch: the engine samples them together).
  // Duplicates are allowed; searches merge identical steps.
  virtual std::vector<std::vector<StepCandidate>> expand(const std::vector<Tokens>& states, int64_t k) = 0;
  // A value estimate in [−1, 1] of each non-terminal state (expected terminal reward).
  virtual std::vector<double> evaluate(const std::vector<Tokens>& states) = 0;
  // Compute used so far (a search reports the difference over its run).
  virtual SearchCompute compute() const = 0;
};

}  // namespace rlpp::search

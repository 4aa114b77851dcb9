// A small exactly-known step game for search tests: choose a digit d ∈ {0, …, B − 1} per step for
// D steps; the terminal reward of digits (d_1 … d_D) is 1 − |x − target| / scale clamped to
// [−1, 1], with x = Σ d_i B^(D − i) (the digits read in base B), so the optimum is the unique
// base-B spelling of `target`. Every step is a one-token move with a uniform prior. expand(k)
// proposes the digits 0 … k − 1, or, with `sample_moves`, k digits drawn uniformly with
// replacement (a policy that repeats itself, as a language model does).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "rlpp/search/step_model.h"

namespace rlpp::search::toy {

class DigitGame : public StepModel {
 public:
  DigitGame(int64_t base, int64_t depth, int64_t target, double scale)
      : base_(base), depth_(depth), target_(target), scale_(scale) {}

  double reward(const Tokens& digits) const {
    int64_t x = 0;
    for (int64_t d : digits) x = x * base_ + d;
    return std::clamp(1.0 - std::abs(static_cast<double>(x - target_)) / scale_, -1.0, 1.0);
  }

  std::vector<std::vector<StepCandidate>> expand(const std::vector<Tokens>& states, int64_t k) override {
    std::vector<std::vector<StepCandidate>> out;
    requested += k * static_cast<int64_t>(states.size());
    for (const Tokens& s : states) {
      ++counters_.expansions;
      std::vector<StepCandidate> c;
      for (int64_t i = 0; i < (sample_moves ? k : std::min(k, base_)); ++i) {
        const int64_t d = sample_moves ? std::uniform_int_distribution<int64_t>(0, base_ - 1)(rng_) : i;
        StepCandidate sc;
        sc.tokens = {d};
        sc.logp = -std::log(static_cast<double>(base_));
        sc.terminal = static_cast<int64_t>(s.size()) + 1 == depth_;
        if (sc.terminal) {
          Tokens full = s;
          full.push_back(d);
          sc.reward = reward(full);
        }
        c.push_back(sc);
        ++counters_.tokens_generated;
      }
      out.push_back(std::move(c));
    }
    ++counters_.model_calls;
    return out;
  }

  // The value function: `value_fn` when set, else an uninformed 0.
  std::vector<double> evaluate(const std::vector<Tokens>& states) override {
    std::vector<double> v;
    for (const Tokens& s : states) v.push_back(value_fn ? value_fn(s) : 0.0);
    counters_.evaluations += static_cast<int64_t>(states.size());
    return v;
  }
  SearchCompute compute() const override { return counters_; }

  // Brute force over all B^D move sequences: the best reward achievable from `prefix`.
  double best_from(const Tokens& prefix) const {
    if (static_cast<int64_t>(prefix.size()) == depth_) return reward(prefix);
    double best = -2;
    for (int64_t d = 0; d < base_; ++d) {
      Tokens next = prefix;
      next.push_back(d);
      best = std::max(best, best_from(next));
    }
    return best;
  }

  std::function<double(const Tokens&)> value_fn;
  bool sample_moves = false;
  int64_t requested = 0;  // Σ k over expand() calls

 private:
  int64_t base_, depth_, target_;
  double scale_;
  SearchCompute counters_;
  std::mt19937_64 rng_{12345};
};

}  // namespace rlpp::search::toy

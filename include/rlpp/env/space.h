// Observation and action spaces, and the constant description of an environment (its Spec).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace rlpp::env {

struct Space {
  enum class Kind { kDiscrete, kBox };
  Kind kind = Kind::kBox;
  int64_t n = 0;             // discrete: number of actions
  int64_t dim = 0;           // box: number of components (1-D boxes only)
  std::vector<float> low;    // box: (dim) lower bounds (may be -inf)
  std::vector<float> high;   // box: (dim) upper bounds (may be +inf)

  static Space discrete(int64_t n);
  static Space box(std::vector<float> low, std::vector<float> high);
  bool is_discrete() const { return kind == Kind::kDiscrete; }
  // Floats one element of this space takes in a batch buffer: 1 for discrete (the index), dim for box.
  int64_t flat_dim() const { return is_discrete() ? 1 : dim; }
};

struct Spec {
  std::string id;                 // Gymnasium id, e.g. "CartPole-v1"
  Space observation;
  Space action;
  int max_episode_steps = 0;      // truncation horizon
  double reward_threshold = std::numeric_limits<double>::quiet_NaN();  // "solved" level, NaN if none
};

}  // namespace rlpp::env

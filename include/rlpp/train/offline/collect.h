// `rlpp dataset collect`: a D4RL-layout dataset from one environment copy stepped by a policy —
// the uniform random policy, or the policy of a trained control run (ppo / props) — as D4RL made
// its random / medium / expert datasets from its own policies (Fu et al. 2020, arXiv:2004.07219).
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "rlpp/train/offline/d4rl_dataset.h"

namespace rlpp::train::offline {

struct CollectRequest {
  std::string env;        // Gymnasium id; "" = the run's own (a run's policy only)
  std::string policy;     // "random", or a run directory / checkpoint file of a ppo or props run
  int64_t steps = 0;      // transitions to record (>= 1)
  uint64_t seed = 0;      // the environment's seed (reset(seed)) and the policy's sampling generator
  double noise = 0;       // Box actions: N(0, noise²) added, then clipped; discrete: ε, the
                          // probability of a uniform random action instead of the policy's
  bool deterministic = false;  // the run's mean / argmax action instead of a sample from π
  bool quiet = false;          // no progress line
};

// One environment copy (so that episodes are contiguous rows) stepped `steps` times. Each row: the
// observation, the action the environment received (Box actions clipped to the box), the reward,
// the next observation (at an episode's end the true final one, not the reset's), terminals and
// timeouts (a time-limit truncation: timeouts = 1, terminals = 0). A run's policy acts on
// observations normalised with the checkpoint's statistics; the dataset keeps raw observations.
// An episode still running at the last step ends the dataset unflagged. `stop` ends early (the rows
// so far are returned).
D4rlDataset collect_dataset(const CollectRequest& req, const std::atomic<bool>& stop);

}  // namespace rlpp::train::offline

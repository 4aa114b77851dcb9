// Episodes of a D4RL dataset, their returns, and D4RL's normalised score (Fu et al. 2020,
// arXiv:2004.07219): score = 100 · (R − R_random) / (R_expert − R_random), with per-task reference
// returns that rlpp measures and records in configs/d4rl_reference_returns.toml.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rlpp/train/offline/d4rl_dataset.h"

namespace rlpp::train::offline {

struct Episode {
  int64_t begin = 0, end = 0;  // rows [begin, end)
  double ret = 0;              // sum of rewards over the rows, in double
  bool terminal = false;       // ended by terminals = 1
  bool timeout = false;        // ended by timeouts = 1
  bool complete() const { return terminal || timeout; }  // false: the dataset ends mid-episode
  int64_t length() const { return end - begin; }
};

// Splits rows at terminals | timeouts; trailing rows without either form one incomplete episode.
std::vector<Episode> split_episodes(const D4rlDataset& d);

struct ReturnStats {
  int64_t episodes = 0;  // complete episodes (the statistics are over these)
  int64_t incomplete = 0;
  double mean = 0, min = 0, max = 0, std = 0;  // std: population standard deviation
};
ReturnStats return_stats(const std::vector<Episode>& episodes);

// 100 · (R − random) / (expert − random); UserError when expert == random.
double normalized_score(double ret, double random_return, double expert_return);

struct ReferenceReturns {
  double random = 0;  // mean return of the uniform random policy
  double expert = 0;  // mean return of rlpp's expert policy (see the file for how each was measured)
};

// Reads a reference table: one [<env id>] table per task with numbers `random` and `expert`
// (other keys are comments for people: `random_command`, `expert_command`, `note`). A malformed
// file is a UserError naming the file and the key.
std::map<std::string, ReferenceReturns> read_reference_returns(const std::string& path);
// configs/d4rl_reference_returns.toml of the source tree rlpp was built from.
std::string default_reference_returns_path();

}  // namespace rlpp::train::offline

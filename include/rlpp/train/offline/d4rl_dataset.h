// A transition dataset in D4RL's HDF5 layout (Fu et al. 2020, arXiv:2004.07219): one row per
// environment step, six datasets at the file's root, plus rlpp's metadata as root attributes.
//
//   observations       (N, obs_dim) float32   s_t
//   actions            (N, act_dim) float32   a_t (a discrete action is its index)
//   rewards            (N)          float32   r_t
//   next_observations  (N, obs_dim) float32   s_{t+1}; at a time-limit truncation the true final observation
//   terminals          (N)          bool      the episode ended in a terminal state at t+1
//   timeouts           (N)          bool      the episode was cut by the time limit at t+1 (terminals = 0)
//
// Reading accepts float64 for the float fields (converted to float32; a value outside float32's
// range becomes inf and is refused) and, for the flags, h5py's bool (an enum of int8) or any
// one-byte integer holding only 0 and 1. Everything else is a core::UserError naming the file and
// the field (docs/datasets.md lists the rules).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/env/space.h"

namespace rlpp::train::offline {

struct DatasetMetadata {  // root attributes; absent in D4RL's own files (then empty / -1)
  std::string env_name;      // "env_name": the Gymnasium id, e.g. "Hopper-v4"
  std::string policy;        // "policy": what acted ("random", "runs/hopper-expert (ppo, update 146)", ...)
  int64_t seed = -1;         // "seed": the environments' seed
  std::string rlpp_version;  // "rlpp_version": the program that wrote the file
  std::string rlpp_commit;   // "rlpp_commit": the commit it was built from (core/build_info.h)
};

struct D4rlDataset {
  int64_t obs_dim = 0, act_dim = 0;
  std::vector<float> observations;       // (N, obs_dim)
  std::vector<float> actions;            // (N, act_dim)
  std::vector<float> rewards;            // (N)
  std::vector<float> next_observations;  // (N, obs_dim)
  std::vector<uint8_t> terminals;        // (N) 0/1
  std::vector<uint8_t> timeouts;         // (N) 0/1
  DatasetMetadata meta;

  int64_t size() const { return static_cast<int64_t>(rewards.size()); }
  // Appends one transition (obs and next_obs: obs_dim floats; action: act_dim floats).
  void push(const float* obs, const float* action, float reward, const float* next_obs, bool terminal, bool timeout);
  // UserError (naming `what`) unless every field has N rows of its width, N >= 1, values are
  // finite and flags are 0/1, and no row is both terminal and timeout.
  void validate(const std::string& what) const;
};

// Writes `d` (validated first) to `path` atomically: a temporary file beside it, then a rename.
void write_d4rl(const std::string& path, const D4rlDataset& d);
// Reads and validates a D4RL file (see the top of this file).
D4rlDataset read_d4rl(const std::string& path);

// UserError unless the dataset's observation and action widths are those of `spec` (and, when the
// dataset names its environment, the same id). `what` names the dataset in the message.
void check_matches(const D4rlDataset& d, const env::Spec& spec, const std::string& what);

// a then b (D4RL's medium-expert = medium ++ expert). Widths must agree; metadata: a's env name
// (b's must agree when both are set), policies joined with " + ", seed -1.
D4rlDataset concatenate(const D4rlDataset& a, const D4rlDataset& b);

}  // namespace rlpp::train::offline

// Offline data in the online off-policy run: [replay] offline_dataset names a D4RL-layout file
// (d4rl_dataset.h) whose transitions are mixed into every minibatch, round(offline_ratio · B)
// rows from the file and the rest from the replay buffer of the run's own environment steps
// (half and half is RLPD's symmetric sampling, Ball et al. 2023, arXiv 2302.02948, and H2O's
// batch_ratio, arXiv 2206.13464). The file is read and checked against the environment exactly as
// OfflineRun does (read_d4rl, check_matches: widths and the recorded id) and held as a read-only
// one-copy ReplayBuffer of one-step transitions: a terminal stops bootstrapping, a timeout does
// not (its next observation is the true last one). Rows are drawn uniformly with replacement from
// the run's generator, offline rows first, so a run stays reproducible from its seed and a resumed
// run bit-identical. The checkpoint holds only a fingerprint of the file (rows, widths, CRC-32 of
// actions and rewards), as OfflineRun's; a resume on another file is refused.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/env/space.h"
#include "rlpp/train/offpolicy/replay_buffer.h"

namespace rlpp::train::offpolicy {

class OfflineMix {
 public:
  // Reads `path` and checks it against `spec` (UserError naming `what` on a mismatch); ratio in
  // [0, 1]; gamma: the run's discount (the bootstrap factor γ (1 − terminal) of a row).
  OfflineMix(const std::string& path, double ratio, const env::Spec& spec, double gamma, const std::string& what);

  // Offline rows of a minibatch of `batch` rows: round(ratio · batch).
  int64_t rows_per_batch(int64_t batch) const;
  // n rows of the file, uniformly with replacement from rng (weights 1, discount γ (1 − terminal)).
  ReplaySample sample(int64_t n, core::Rng& rng) const;
  // `offline` rows then `online` rows, one batch; rows = online.rows (the replay buffer's).
  static ReplaySample concat(const ReplaySample& offline, const ReplaySample& online);

  int64_t size() const { return data_->size(); }
  // rows, obs_dim, act_dim, CRC-32 of the file's actions and rewards.
  const std::vector<int64_t>& fingerprint() const { return fingerprint_; }
  // Per component the population std of the file's observations + 1e-3 (observation_stats of
  // offline_run.h). (obs_dim)
  const std::vector<float>& observation_std() const { return obs_std_; }

 private:
  double ratio_;
  std::unique_ptr<ReplayBuffer> data_;  // the file's rows, one copy, n-step 1
  std::vector<int64_t> fingerprint_;
  std::vector<float> obs_std_;          // (obs_dim)
};

}  // namespace rlpp::train::offpolicy

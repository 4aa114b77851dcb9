// Every transition an on-policy control run steps, written as a D4RL-layout dataset
// (d4rl_dataset.h): rlpp's medium-replay. D4RL's medium-replay (Fu et al. 2020, arXiv:2004.07219)
// is the replay buffer of the SAC run that trained its medium policy; rlpp's medium policies are
// PPO runs, so the counterpart is every rollout the PPO learner trained on, in order, from the
// first update to the last (docs/datasets.md).
//
// A run turns it on with a `[record] path = "x.hdf5"` section (ControlRun; off when absent, and
// then nothing changes). Rows per copy are kept until that copy's episode ends, then appended, so
// each episode is contiguous rows even with several copies; episodes that ended at the same step
// are appended in copy order. At the run's end the copies' unfinished episodes are appended in copy
// order, each but the last cut with timeouts = 1 (as `rlpp dataset merge` cuts), the last left
// unflagged (an incomplete episode, as `collect` ends). Each row: the raw observation, the action the
// environment received (Box actions clipped to the box when env.clip_action), the raw reward, the
// raw next observation (at an episode's end the true last one), terminals / timeouts (a step both
// terminal and at the time limit is a terminal).
//
// Resume: every checkpoint writes the file (atomically) with the finished episodes so far and keeps
// the row count and the unfinished episodes in the checkpoint; a resume reads the file back, keeps
// exactly that many rows (a file written later, e.g. at the end of the run, is cut back) and
// continues, so no row is lost or repeated.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/env/vec_env.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/offline/d4rl_dataset.h"

namespace rlpp::train::offline {

// The [record] section of a control recipe.
struct RecordOptions {
  std::string path;  // the D4RL-layout file written at every checkpoint and at the run's end

  void bind(core::Binder& b);
};

class RolloutRecorder {
 public:
  // envs: the run's batch (N copies); clip_action: whether the environments clip Box actions.
  RolloutRecorder(const RecordOptions& opts, const env::VecEnv& envs, bool clip_action, DatasetMetadata meta);

  // Before envs.step(actions): the copies' current raw observations (N, obs_dim) and the actions
  // (N, act_dim) about to be stepped.
  void before_step(const float* obs, const float* actions);
  // After envs.step(): rewards, flags, final and next observations of the step.
  void after_step(const env::VecEnv& envs);

  // Writes the finished episodes to the file; the row count and the unfinished episodes go to `w`.
  void save(CheckpointWriter& w) const;
  // Restores what save() kept: the file's first rows (the count in `r`) and the unfinished episodes.
  void load(CheckpointReader& r);
  // The run's end: the file with every row stepped (unfinished episodes appended as described above).
  void finish() const;

  const D4rlDataset& finished() const { return data_; }  // rows of finished episodes so far

 private:
  D4rlDataset with_open_episodes() const;

  RecordOptions opts_;
  int64_t n_ = 0, obs_dim_ = 0, act_dim_ = 0;
  bool clip_ = false;
  std::vector<float> low_, high_;      // (act_dim) Box bounds (empty for a discrete space)
  D4rlDataset data_;                   // finished episodes, contiguous
  std::vector<D4rlDataset> open_;      // (N) each copy's unfinished episode
  std::vector<float> obs_, act_;       // (N, obs_dim), (N, act_dim) of the step being taken
};

}  // namespace rlpp::train::offline

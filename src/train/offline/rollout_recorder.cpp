#include "rlpp/train/offline/rollout_recorder.h"

#include <algorithm>

#include "rlpp/core/error.h"

namespace rlpp::train::offline {

void RecordOptions::bind(core::Binder& b) {
  b.text("path", path, "D4RL-layout file receiving every transition the run steps (medium-replay)");
}

namespace {

D4rlDataset empty_like(int64_t obs_dim, int64_t act_dim, const DatasetMetadata& meta) {
  D4rlDataset d;
  d.obs_dim = obs_dim;
  d.act_dim = act_dim;
  d.meta = meta;
  return d;
}

void append(const D4rlDataset& src, D4rlDataset* dst) {
  auto cat = [](const auto& a, auto* b) { b->insert(b->end(), a.begin(), a.end()); };
  cat(src.observations, &dst->observations);
  cat(src.actions, &dst->actions);
  cat(src.rewards, &dst->rewards);
  cat(src.next_observations, &dst->next_observations);
  cat(src.terminals, &dst->terminals);
  cat(src.timeouts, &dst->timeouts);
}

// The first `rows` rows of d (rows <= d.size()).
void keep_rows(int64_t rows, D4rlDataset* d) {
  d->observations.resize(static_cast<size_t>(rows * d->obs_dim));
  d->next_observations.resize(static_cast<size_t>(rows * d->obs_dim));
  d->actions.resize(static_cast<size_t>(rows * d->act_dim));
  d->rewards.resize(static_cast<size_t>(rows));
  d->terminals.resize(static_cast<size_t>(rows));
  d->timeouts.resize(static_cast<size_t>(rows));
}

}  // namespace

RolloutRecorder::RolloutRecorder(const RecordOptions& opts, const env::VecEnv& envs, bool clip_action,
                                 DatasetMetadata meta)
    : opts_(opts), n_(envs.num_envs()), obs_dim_(envs.obs_dim()), act_dim_(envs.act_dim()) {
  core::require(!opts_.path.empty(), "record.path: the file to record the run's transitions into is required");
  const env::Space& a = envs.spec().action;
  clip_ = clip_action && !a.is_discrete();
  if (clip_) {
    low_ = a.low;
    high_ = a.high;
  }
  data_ = empty_like(obs_dim_, act_dim_, meta);
  open_.assign(static_cast<size_t>(n_), empty_like(obs_dim_, act_dim_, meta));
  obs_.resize(static_cast<size_t>(n_ * obs_dim_));
  act_.resize(static_cast<size_t>(n_ * act_dim_));
}

void RolloutRecorder::before_step(const float* obs, const float* actions) {
  std::copy(obs, obs + n_ * obs_dim_, obs_.begin());
  std::copy(actions, actions + n_ * act_dim_, act_.begin());
  if (clip_) {
    for (int64_t i = 0; i < n_; ++i) {
      for (int64_t j = 0; j < act_dim_; ++j) {
        float& x = act_[static_cast<size_t>(i * act_dim_ + j)];
        x = std::clamp(x, low_[static_cast<size_t>(j)], high_[static_cast<size_t>(j)]);
      }
    }
  }
}

void RolloutRecorder::after_step(const env::VecEnv& envs) {
  for (int64_t i = 0; i < n_; ++i) {
    const bool term = envs.terminated()[i] != 0, trunc = envs.truncated()[i] != 0;
    const float* next = ((term || trunc) ? envs.final_obs() : envs.obs()) + i * obs_dim_;
    D4rlDataset& ep = open_[static_cast<size_t>(i)];
    ep.push(obs_.data() + i * obs_dim_, act_.data() + i * act_dim_, envs.reward()[i], next, term, trunc && !term);
    if (term || trunc) {
      append(ep, &data_);
      ep = empty_like(obs_dim_, act_dim_, data_.meta);
    }
  }
}

void RolloutRecorder::save(CheckpointWriter& w) const {
  if (data_.size() > 0) write_d4rl(opts_.path, data_);
  w.put_int("record.rows", data_.size());
  for (int64_t i = 0; i < n_; ++i) {
    const D4rlDataset& ep = open_[static_cast<size_t>(i)];
    const std::string k = "record.open." + std::to_string(i) + ".";
    w.put_int(k + "rows", ep.size());
    w.put_floats(k + "observations", ep.observations);
    w.put_floats(k + "actions", ep.actions);
    w.put_floats(k + "rewards", ep.rewards);
    w.put_floats(k + "next_observations", ep.next_observations);
    // An unfinished episode has no flags set: every row continues.
  }
}

void RolloutRecorder::load(CheckpointReader& r) {
  const int64_t rows = r.get_int("record.rows");
  data_ = empty_like(obs_dim_, act_dim_, data_.meta);
  if (rows > 0) {
    D4rlDataset d = read_d4rl(opts_.path);
    core::require(d.obs_dim == obs_dim_ && d.act_dim == act_dim_,
                  "record.path: '" + opts_.path + "' holds other observation / action widths than this run's");
    core::require(d.size() >= rows, "record.path: '" + opts_.path + "' holds " + std::to_string(d.size()) +
                                        " rows, fewer than the " + std::to_string(rows) +
                                        " the checkpoint recorded (was the file replaced?)");
    keep_rows(rows, &d);
    d.meta = data_.meta;
    data_ = std::move(d);
  }
  for (int64_t i = 0; i < n_; ++i) {
    const std::string k = "record.open." + std::to_string(i) + ".";
    const auto m = static_cast<size_t>(r.get_int(k + "rows"));
    D4rlDataset& ep = open_[static_cast<size_t>(i)];
    ep = empty_like(obs_dim_, act_dim_, data_.meta);
    ep.observations = r.get_floats(k + "observations", m * static_cast<size_t>(obs_dim_));
    ep.actions = r.get_floats(k + "actions", m * static_cast<size_t>(act_dim_));
    ep.rewards = r.get_floats(k + "rewards", m);
    ep.next_observations = r.get_floats(k + "next_observations", m * static_cast<size_t>(obs_dim_));
    ep.terminals.assign(m, 0);
    ep.timeouts.assign(m, 0);
  }
}

D4rlDataset RolloutRecorder::with_open_episodes() const {
  D4rlDataset out = data_;
  std::vector<const D4rlDataset*> open;
  for (const D4rlDataset& ep : open_) {
    if (ep.size() > 0) open.push_back(&ep);
  }
  for (size_t k = 0; k < open.size(); ++k) {
    append(*open[k], &out);
    if (k + 1 < open.size()) out.timeouts.back() = 1;  // cut here, as `rlpp dataset merge` does
  }
  return out;
}

void RolloutRecorder::finish() const {
  const D4rlDataset all = with_open_episodes();
  if (all.size() > 0) write_d4rl(opts_.path, all);
}

}  // namespace rlpp::train::offline

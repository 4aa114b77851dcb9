#include "rlpp/train/offpolicy/replay_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rlpp/core/error.h"

namespace rlpp::train::offpolicy {

void ReplayOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("n_step", n_step, "steps of the return before bootstrapping (1 = one-step TD)", Bounds::closed(1, 1000));
  b.flag("prioritized", prioritized, "proportional prioritized replay (arXiv 1511.05952)");
  b.num("alpha", alpha, "priority exponent: P(j) = p_j^alpha / sum_k p_k^alpha", Bounds::unit());
  b.num("beta", beta, "importance-weight exponent at the start (annealed linearly to 1 over the run)", Bounds::unit());
  b.num("priority_eps", priority_eps, "p = |td error| + priority_eps", Bounds::positive());
  b.text("offline_dataset", offline_dataset,
         "D4RL-layout HDF5 file mixed into every minibatch (\"\" = none; docs/offpolicy.md, offline data)");
  b.num("offline_ratio", offline_ratio, "share of each minibatch drawn from replay.offline_dataset (RLPD, H2O: 0.5)",
        Bounds::unit());
}

// ---- SumTree ----

SumTree::SumTree(int64_t capacity) {
  while (base_ < capacity) base_ *= 2;
  nodes_.assign(static_cast<size_t>(2 * base_), 0.0);
}

void SumTree::set(int64_t leaf, double value) {
  int64_t k = base_ + leaf;
  nodes_[static_cast<size_t>(k)] = value;
  for (k /= 2; k >= 1; k /= 2) nodes_[static_cast<size_t>(k)] = nodes_[static_cast<size_t>(2 * k)] + nodes_[static_cast<size_t>(2 * k + 1)];
}

int64_t SumTree::find(double u) const {
  int64_t k = 1;
  while (k < base_) {
    const double left = nodes_[static_cast<size_t>(2 * k)];
    // descend left while u falls in it; a right subtree of zero sum is never entered
    if (u < left || nodes_[static_cast<size_t>(2 * k + 1)] <= 0.0) {
      k = 2 * k;
    } else {
      u -= left;
      k = 2 * k + 1;
    }
  }
  return k - base_;
}

void SumTree::set_nodes(std::vector<double> nodes) {
  core::require(nodes.size() == nodes_.size(), "replay sum tree: expected " + std::to_string(nodes_.size()) +
                                                   " nodes, got " + std::to_string(nodes.size()));
  nodes_ = std::move(nodes);
}

// ---- ReplayBuffer ----

ReplayBuffer::ReplayBuffer(int64_t capacity, int64_t num_envs, int64_t obs_dim, int64_t act_flat, double gamma,
                           const ReplayOptions& opts)
    : capacity_((std::max(capacity, num_envs) + num_envs - 1) / num_envs * num_envs),
      num_envs_(num_envs),
      obs_dim_(obs_dim),
      act_flat_(act_flat),
      gamma_(gamma),
      opts_(opts) {
  core::require(num_envs >= 1 && obs_dim >= 1 && act_flat >= 1, "replay buffer: num_envs, obs_dim and act_flat must be >= 1");
  if (opts_.prioritized) tree_ = SumTree(capacity_);
}

void ReplayBuffer::ensure_allocated() {
  if (!rewards_.empty()) return;
  const auto c = static_cast<size_t>(capacity_);
  obs_.resize(c * static_cast<size_t>(obs_dim_));
  next_obs_.resize(obs_.size());
  actions_.resize(c * static_cast<size_t>(act_flat_));
  rewards_.resize(c);
  terminated_.resize(c);
  truncated_.resize(c);
}

void ReplayBuffer::add(const float* obs, const float* actions, const float* rewards, const float* next_obs,
                       const uint8_t* terminated, const uint8_t* truncated) {
  ensure_allocated();
  const double leaf = std::pow(max_priority_, opts_.alpha);
  for (int64_t i = 0; i < num_envs_; ++i) {
    const int64_t j = pos_ + i;  // capacity is a multiple of N: the N rows never wrap
    std::memcpy(obs_.data() + j * obs_dim_, obs + i * obs_dim_, sizeof(float) * static_cast<size_t>(obs_dim_));
    std::memcpy(next_obs_.data() + j * obs_dim_, next_obs + i * obs_dim_, sizeof(float) * static_cast<size_t>(obs_dim_));
    std::memcpy(actions_.data() + j * act_flat_, actions + i * act_flat_, sizeof(float) * static_cast<size_t>(act_flat_));
    rewards_[static_cast<size_t>(j)] = rewards[i];
    terminated_[static_cast<size_t>(j)] = terminated[i] ? 1 : 0;
    truncated_[static_cast<size_t>(j)] = (truncated[i] && !terminated[i]) ? 1 : 0;
    if (opts_.prioritized) tree_.set(j, leaf);
  }
  pos_ = (pos_ + num_envs_) % capacity_;
  size_ = std::min(size_ + num_envs_, capacity_);
}

ReplayBuffer::NStep ReplayBuffer::n_step(int64_t row) const {
  const int64_t oldest = (pos_ - size_ + capacity_) % capacity_;
  const int64_t age_index = (row - oldest + capacity_) % capacity_;  // 0 = oldest stored row
  NStep s;
  double g = 1.0;
  int64_t j = row;
  for (int k = 0; k < opts_.n_step; ++k) {
    s.ret += g * static_cast<double>(rewards_[static_cast<size_t>(j)]);
    g *= gamma_;
    s.last = j;
    if (terminated_[static_cast<size_t>(j)]) {
      s.discount = 0.0;
      return s;
    }
    s.discount = g;
    // the episode ended by truncation, or the copy's next step is not stored yet: bootstrap here
    if (truncated_[static_cast<size_t>(j)] || age_index + (k + 1) * num_envs_ >= size_) return s;
    j = (j + num_envs_) % capacity_;
  }
  return s;
}

ReplaySample ReplayBuffer::sample(int64_t batch, core::Rng& rng, double beta) const {
  core::require(size_ > 0, "replay buffer: sample() on an empty buffer");
  ReplaySample out;
  out.obs = torch::empty({batch, obs_dim_}, torch::kFloat32);
  out.next_obs = torch::empty({batch, obs_dim_}, torch::kFloat32);
  out.actions = torch::empty({batch, act_flat_}, torch::kFloat32);
  out.returns = torch::empty({batch}, torch::kFloat32);
  out.discount = torch::empty({batch}, torch::kFloat32);
  out.weights = torch::ones({batch}, torch::kFloat32);
  out.rows.resize(static_cast<size_t>(batch));
  float* o = out.obs.data_ptr<float>();
  float* no = out.next_obs.data_ptr<float>();
  float* a = out.actions.data_ptr<float>();
  float* ret = out.returns.data_ptr<float>();
  float* disc = out.discount.data_ptr<float>();
  float* w = out.weights.data_ptr<float>();
  std::vector<double> weight(static_cast<size_t>(batch), 1.0);
  double max_weight = 0.0;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t j;
    if (opts_.prioritized) {
      // rows not yet written have leaf 0 and are never found
      j = tree_.find(rng.uniform() * tree_.total());
      const double p = tree_.get(j) / tree_.total();
      weight[static_cast<size_t>(b)] = std::pow(static_cast<double>(size_) * p, -beta);
      max_weight = std::max(max_weight, weight[static_cast<size_t>(b)]);
    } else {
      j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(size_)));  // rows [0, size) are the stored ones
    }
    out.rows[static_cast<size_t>(b)] = j;
    const NStep s = n_step(j);
    std::memcpy(o + b * obs_dim_, obs_.data() + j * obs_dim_, sizeof(float) * static_cast<size_t>(obs_dim_));
    std::memcpy(no + b * obs_dim_, next_obs_.data() + s.last * obs_dim_, sizeof(float) * static_cast<size_t>(obs_dim_));
    std::memcpy(a + b * act_flat_, actions_.data() + j * act_flat_, sizeof(float) * static_cast<size_t>(act_flat_));
    ret[b] = static_cast<float>(s.ret);
    disc[b] = static_cast<float>(s.discount);
  }
  if (opts_.prioritized) {
    for (int64_t b = 0; b < batch; ++b) w[b] = static_cast<float>(weight[static_cast<size_t>(b)] / max_weight);
  }
  return out;
}

void ReplayBuffer::update_priorities(const std::vector<int64_t>& rows, const float* abs_td_error) {
  if (!opts_.prioritized) return;
  for (size_t b = 0; b < rows.size(); ++b) {
    const double p = std::abs(static_cast<double>(abs_td_error[b])) + opts_.priority_eps;
    max_priority_ = std::max(max_priority_, p);
    tree_.set(rows[b], std::pow(p, opts_.alpha));
  }
}

double ReplayBuffer::probability(int64_t row) const {
  if (!opts_.prioritized) return row < size_ ? 1.0 / static_cast<double>(size_) : 0.0;
  return tree_.get(row) / tree_.total();
}

namespace {

template <class T>
std::vector<float> head(const std::vector<T>& v, size_t n) {
  return std::vector<float>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size())));
}

}  // namespace

void ReplayBuffer::save(CheckpointWriter& w, const std::string& key) const {
  w.put_ints(key + ".shape", {capacity_, num_envs_, obs_dim_, act_flat_, opts_.prioritized ? 1 : 0});
  w.put_ints(key + ".position", {pos_, size_});
  w.put_doubles(key + ".max_priority", {max_priority_});
  const auto n = static_cast<size_t>(size_);
  w.put_floats(key + ".obs", head(obs_, n * static_cast<size_t>(obs_dim_)));
  w.put_floats(key + ".next_obs", head(next_obs_, n * static_cast<size_t>(obs_dim_)));
  w.put_floats(key + ".actions", head(actions_, n * static_cast<size_t>(act_flat_)));
  w.put_floats(key + ".rewards", head(rewards_, n));
  w.put_floats(key + ".terminated", head(terminated_, n));
  w.put_floats(key + ".truncated", head(truncated_, n));
  if (opts_.prioritized) w.put_doubles(key + ".tree", tree_.nodes());
}

void ReplayBuffer::load(CheckpointReader& r, const std::string& key) {
  const auto shape = r.get_ints(key + ".shape", 5);
  core::require(shape == std::vector<int64_t>{capacity_, num_envs_, obs_dim_, act_flat_, opts_.prioritized ? 1 : 0},
                "checkpoint '" + r.path() + "': the replay buffer's capacity, copies, widths or prioritization differ from the run's");
  const auto position = r.get_ints(key + ".position", 2);
  core::require(position[0] >= 0 && position[0] < capacity_ && position[1] >= 0 && position[1] <= capacity_,
                "checkpoint '" + r.path() + "': replay position out of range");
  const auto n = static_cast<size_t>(position[1]);
  auto obs = r.get_floats(key + ".obs", n * static_cast<size_t>(obs_dim_));
  auto next_obs = r.get_floats(key + ".next_obs", n * static_cast<size_t>(obs_dim_));
  auto actions = r.get_floats(key + ".actions", n * static_cast<size_t>(act_flat_));
  auto rewards = r.get_floats(key + ".rewards", n);
  auto term = r.get_floats(key + ".terminated", n);
  auto trunc = r.get_floats(key + ".truncated", n);
  const double max_priority = r.get_doubles(key + ".max_priority", 1)[0];
  std::vector<double> nodes;
  if (opts_.prioritized) nodes = r.get_doubles(key + ".tree", tree_.nodes().size());
  // everything read: install it
  rewards_.clear();
  ensure_allocated();
  std::copy(obs.begin(), obs.end(), obs_.begin());
  std::copy(next_obs.begin(), next_obs.end(), next_obs_.begin());
  std::copy(actions.begin(), actions.end(), actions_.begin());
  std::copy(rewards.begin(), rewards.end(), rewards_.begin());
  for (size_t i = 0; i < n; ++i) {
    terminated_[i] = term[i] != 0.f;
    truncated_[i] = trunc[i] != 0.f;
  }
  pos_ = position[0];
  size_ = position[1];
  max_priority_ = max_priority;
  if (opts_.prioritized) tree_.set_nodes(std::move(nodes));
}

}  // namespace rlpp::train::offpolicy

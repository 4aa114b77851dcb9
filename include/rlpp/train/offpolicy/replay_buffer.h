// The replay buffer of the off-policy control trainers (sac, td3, dqn): a fixed-capacity ring of
// one-step transitions of N environment copies, sampled uniformly or proportionally to priority
// (prioritized experience replay, Schaul et al. 2015, arXiv 1511.05952), with n-step returns
// assembled at sampling time.
//
// Layout: the batch's N copies are added together, one row each, so copy i's transitions sit at
// rows ≡ i (mod N) and the successor of row j (the same copy's next step) is row j + N (mod C).
// C = capacity, a multiple of N.
//
// Truncation vs termination: `terminated` (a true terminal: the value after it is 0) stops
// bootstrapping; a time-limit truncation does not: its stored next_obs is the episode's true final
// observation (VecEnv::final_obs, not the auto-reset first observation of the next episode), and
// the target bootstraps from it. Both end an n-step sum (the next row is another episode).
//
// n-step (Sutton & Barto §7.1): for a sampled row j, with m ≤ n the number of steps taken (up to
// the first terminal or truncation, or the newest stored step of that copy):
//   R = Σ_{k<m} γ^k r_{j+kN},   next_obs = next_obs_{j+(m−1)N},
//   discount = γ^m · (1 − terminated_{j+(m−1)N}),
// and the target is R + discount · V(next_obs).
//
// Prioritized: P(j) = p_j^α / Σ_k p_k^α over the stored rows (a sum tree over p^α), new rows get the
// largest priority seen so far, weights w_j = (size · P(j))^−β normalised by the batch's largest
// weight, and update_priorities(rows, |δ|) sets p = |δ| + ε.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/rng.h"
#include "rlpp/train/checkpoint.h"

namespace rlpp::train::offpolicy {

// The [replay] section.
struct ReplayOptions {
  int n_step = 1;              // steps of the return before bootstrapping
  bool prioritized = false;    // proportional prioritized replay
  double alpha = 0.6;          // priority exponent (Schaul et al.'s proportional variant)
  double beta = 0.4;           // importance-weight exponent at the start, annealed linearly to 1
  double priority_eps = 1e-6;  // p = |δ| + ε
  // Offline data mixed into every minibatch (offline_mix.h): a D4RL-layout file ("" = none, the
  // run as without it) and the share of each minibatch drawn from it.
  std::string offline_dataset;
  double offline_ratio = 0.5;

  void bind(core::Binder& b);
};

// A complete binary tree of sums over `capacity` leaves (a power-of-two layout): set a leaf,
// read the total, find the leaf where a prefix sum falls, all in O(log C).
class SumTree {
 public:
  explicit SumTree(int64_t capacity = 0);
  void set(int64_t leaf, double value);
  double get(int64_t leaf) const { return nodes_[static_cast<size_t>(base_ + leaf)]; }
  double total() const { return nodes_[1]; }
  // The leaf j with Σ_{k<j} v_k ≤ u < Σ_{k≤j} v_k, for u in [0, total()); rounding is clamped to
  // a leaf of positive value.
  int64_t find(double u) const;
  const std::vector<double>& nodes() const { return nodes_; }
  void set_nodes(std::vector<double> nodes);

 private:
  int64_t base_ = 1;            // first leaf's node index (a power of two ≥ capacity)
  std::vector<double> nodes_;   // (2·base) node 1 = root, node k's children 2k and 2k+1
};

// One sampled batch. B = batch size.
struct ReplaySample {
  torch::Tensor obs;        // (B, obs_dim) float32
  torch::Tensor actions;    // (B, act_flat) float32 (a discrete action is its index)
  torch::Tensor returns;    // (B) float32 n-step discounted reward sum R
  torch::Tensor next_obs;   // (B, obs_dim) float32 the observation to bootstrap from
  torch::Tensor discount;   // (B) float32 γ^m (1 − terminated): the bootstrap's factor
  torch::Tensor weights;    // (B) float32 importance weights (1 without prioritized replay)
  std::vector<int64_t> rows;  // (B) the rows sampled, for update_priorities
};

class ReplayBuffer {
 public:
  // capacity is rounded up to a multiple of num_envs.
  ReplayBuffer(int64_t capacity, int64_t num_envs, int64_t obs_dim, int64_t act_flat, double gamma,
               const ReplayOptions& opts);

  // One step of the N copies: obs (N, obs_dim) the observation acted on, actions (N, act_flat),
  // rewards (N), next_obs (N, obs_dim) the true next observation (final_obs where the episode
  // ended), terminated (N) and truncated (N) as 0/1 (a step both terminated and truncated is
  // terminated).
  void add(const float* obs, const float* actions, const float* rewards, const float* next_obs,
           const uint8_t* terminated, const uint8_t* truncated);

  // batch rows drawn with replacement from `rng`; beta: the importance exponent now (prioritized).
  ReplaySample sample(int64_t batch, core::Rng& rng, double beta) const;
  // p_j = |td_error_j| + ε for the rows of a sample (prioritized; nothing otherwise).
  void update_priorities(const std::vector<int64_t>& rows, const float* abs_td_error);

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t position() const { return pos_; }
  // Probability that one draw picks `row` (1/size uniform, p^α/Σ prioritized).
  double probability(int64_t row) const;
  // The n-step return, bootstrap discount and bootstrap row of `row` (exposed for tests).
  struct NStep {
    double ret = 0, discount = 0;
    int64_t last = 0;  // the row whose next_obs is bootstrapped from
  };
  NStep n_step(int64_t row) const;

  // Everything (contents of the stored rows, position, size, tree), exactly.
  void save(CheckpointWriter& w, const std::string& key) const;
  void load(CheckpointReader& r, const std::string& key);

 private:
  void ensure_allocated();

  int64_t capacity_, num_envs_, obs_dim_, act_flat_;
  double gamma_;
  ReplayOptions opts_;
  int64_t pos_ = 0, size_ = 0;  // next row written; rows stored
  double max_priority_ = 1.0;   // of new rows (before ^α)
  // Ring storage, allocated at the first add. C = capacity.
  std::vector<float> obs_;        // (C, obs_dim)
  std::vector<float> actions_;    // (C, act_flat)
  std::vector<float> rewards_;    // (C)
  std::vector<float> next_obs_;   // (C, obs_dim)
  std::vector<uint8_t> terminated_, truncated_;  // (C)
  SumTree tree_;                  // (C) leaves p^α (prioritized only)
};

}  // namespace rlpp::train::offpolicy

// Running mean and variance of a stream of vectors (parallel-merge form of Welford's update,
// Chan et al. 1979), as used by observation normalisation and reward scaling in PPO for
// continuous control (Gymnasium's NormalizeObservation / NormalizeReward, CleanRL defaults).
#pragma once
#include <cstdint>
#include <vector>

namespace rlpp::dist {
class Comm;
}

namespace rlpp::train {

class RunningMeanStd {
 public:
  // `count` starts at epsilon (1e-4) as in Gymnasium so the first update dominates.
  explicit RunningMeanStd(int64_t dim = 1, double epsilon = 1e-4);

  // Merges a batch x (n, dim) into the statistics.
  void update(const float* x, int64_t n);
  void update(const double* x, int64_t n);

  // Data-parallel: between syncs each rank merges its own batches (update() stays local, no
  // collective per environment step); sync(), a collective, replaces every rank's statistics by
  // those at the last sync merged with the rows of every rank since (Chan et al.'s merge of the
  // union), so all ranks hold the same statistics again.
  void set_comm(dist::Comm* comm) { comm_ = comm; }
  void sync();

  int64_t dim() const { return static_cast<int64_t>(mean_.size()); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& var() const { return var_; }
  double count() const { return count_; }
  void set(std::vector<double> mean, std::vector<double> var, double count);

 private:
  void merge(const std::vector<double>& batch_mean, const std::vector<double>& batch_var, double n);
  std::vector<double> mean_;
  std::vector<double> var_;
  double count_;
  dist::Comm* comm_ = nullptr;
  // This rank's rows since the last sync: count, Σx (dim) and Σx² (dim), in double.
  double pending_n_ = 0;
  std::vector<double> pending_sum_, pending_sq_;
  std::vector<double> synced_mean_, synced_var_;  // the statistics at the last sync
  double synced_count_ = 0;
};

// Observation normaliser: y = clip((x - mean) / sqrt(var + 1e-8), -clip, clip).
class ObsNormalizer {
 public:
  ObsNormalizer(int64_t dim, double clip = 10.0) : rms_(dim), clip_(clip) {}
  // x (n, dim) -> y (n, dim); statistics are updated with x first when `update` is set.
  void normalize(const float* x, int64_t n, bool update, float* y);
  RunningMeanStd& stats() { return rms_; }
  const RunningMeanStd& stats() const { return rms_; }

 private:
  RunningMeanStd rms_;
  double clip_;
};

// Reward scaler: keeps the discounted return G <- G*gamma*(1 - terminated) + r per env and divides
// rewards by the running std of G: r' = clip(r / sqrt(var(G) + 1e-8), -clip, clip).
class RewardScaler {
 public:
  RewardScaler(int64_t num_envs, double gamma, double clip = 10.0);
  // r (N) in place; done (N) (terminated or truncated) resets the running return after this step (gym 0.23, as CleanRL ran it).
  void scale(float* r, const uint8_t* done);
  RunningMeanStd& stats() { return rms_; }
  const RunningMeanStd& stats() const { return rms_; }
  std::vector<double>& returns() { return returns_; }
  const std::vector<double>& returns() const { return returns_; }

 private:
  RunningMeanStd rms_;
  std::vector<double> returns_;
  double gamma_;
  double clip_;
};

}  // namespace rlpp::train

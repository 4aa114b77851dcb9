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

  // Merges a batch x (n, dim) into the statistics. Data-parallel (set_comm): x is this rank's
  // part of the batch; its moments are taken over the rows of every rank together (two
  // collectives per update), so every rank holds the same statistics, those of one process
  // seeing the whole batch.
  void update(const float* x, int64_t n);
  void update(const double* x, int64_t n);
  void set_comm(dist::Comm* comm) { comm_ = comm; }

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

#include "rlpp/nn/action_sampling.h"

#include <cmath>
#include <vector>

namespace rlpp::nn {

void sample_categorical(const float* logits, int64_t n, int64_t num_actions, core::Rng& rng,
                        bool deterministic, float* actions, float* logp) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * num_actions;
    double mx = row[0];
    int64_t arg = 0;
    for (int64_t a = 1; a < num_actions; ++a) {
      if (row[a] > mx) {
        mx = row[a];
        arg = a;
      }
    }
    double z = 0.0;
    for (int64_t a = 0; a < num_actions; ++a) z += std::exp(row[a] - mx);
    const double log_z = mx + std::log(z);
    int64_t choice = arg;
    if (!deterministic) {
      // Inverse CDF: the first a with cumulative probability > u.
      const double u = rng.uniform() * z;
      double cum = 0.0;
      choice = num_actions - 1;
      for (int64_t a = 0; a < num_actions; ++a) {
        cum += std::exp(row[a] - mx);
        if (u < cum) {
          choice = a;
          break;
        }
      }
    }
    actions[i] = static_cast<float>(choice);
    logp[i] = static_cast<float>(row[choice] - log_z);
  }
}

void sample_gaussian(const float* mean, const float* log_std, int64_t n, int64_t dim,
                     core::Rng& rng, bool deterministic, float* actions, float* logp) {
  const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
  double log_std_sum = 0.0;
  for (int64_t j = 0; j < dim; ++j) log_std_sum += log_std[j];
  for (int64_t i = 0; i < n; ++i) {
    double lp = -log_std_sum - half_log_2pi * static_cast<double>(dim);
    for (int64_t j = 0; j < dim; ++j) {
      const double eps = deterministic ? 0.0 : rng.normal();
      const double a = mean[i * dim + j] + std::exp(static_cast<double>(log_std[j])) * eps;
      actions[i * dim + j] = static_cast<float>(a);
      // z = (a - mean)/sigma = eps up to float rounding; recompute from the stored float action
      // so that logp matches what the learner will evaluate for this action.
      const double z = (static_cast<double>(actions[i * dim + j]) - mean[i * dim + j]) /
                       std::exp(static_cast<double>(log_std[j]));
      lp -= 0.5 * z * z;
    }
    logp[i] = static_cast<float>(lp);
  }
}

}  // namespace rlpp::nn

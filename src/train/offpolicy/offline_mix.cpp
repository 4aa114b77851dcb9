#include "rlpp/train/offpolicy/offline_mix.h"

#include <cmath>
#include <string_view>

#include "rlpp/core/zip_check.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/offline_run.h"

namespace rlpp::train::offpolicy {

OfflineMix::OfflineMix(const std::string& path, double ratio, const env::Spec& spec, double gamma,
                       const std::string& what)
    : ratio_(ratio) {
  offline::D4rlDataset d = offline::read_d4rl(path);
  offline::check_matches(d, spec, what);
  // CRC-32 of the actions' bytes, then the rewards' (OfflineRun's fingerprint)
  uint32_t crc = core::crc32(std::string_view(reinterpret_cast<const char*>(d.actions.data()), d.actions.size() * sizeof(float)));
  crc = core::crc32(std::string_view(reinterpret_cast<const char*>(d.rewards.data()), d.rewards.size() * sizeof(float)), crc);
  fingerprint_ = {d.size(), d.obs_dim, d.act_dim, static_cast<int64_t>(crc)};
  const offline::ObsStats stats = offline::observation_stats(d.observations, d.obs_dim, 1e-3);
  obs_std_.assign(stats.std.begin(), stats.std.end());
  ReplayOptions one_step;  // n_step 1, uniform
  data_ = std::make_unique<ReplayBuffer>(d.size(), /*num_envs=*/1, d.obs_dim, d.act_dim, gamma, one_step);
  for (int64_t i = 0; i < d.size(); ++i) {
    const auto o = static_cast<size_t>(i * d.obs_dim), a = static_cast<size_t>(i * d.act_dim), j = static_cast<size_t>(i);
    data_->add(d.observations.data() + o, d.actions.data() + a, d.rewards.data() + j, d.next_observations.data() + o,
               d.terminals.data() + j, d.timeouts.data() + j);
  }
}

int64_t OfflineMix::rows_per_batch(int64_t batch) const {
  return static_cast<int64_t>(std::llround(ratio_ * static_cast<double>(batch)));
}

ReplaySample OfflineMix::sample(int64_t n, core::Rng& rng) const { return data_->sample(n, rng, /*beta=*/1.0); }

ReplaySample OfflineMix::concat(const ReplaySample& offline, const ReplaySample& online) {
  ReplaySample s;
  s.obs = torch::cat({offline.obs, online.obs}, 0);
  s.actions = torch::cat({offline.actions, online.actions}, 0);
  s.returns = torch::cat({offline.returns, online.returns}, 0);
  s.next_obs = torch::cat({offline.next_obs, online.next_obs}, 0);
  s.discount = torch::cat({offline.discount, online.discount}, 0);
  s.weights = torch::cat({offline.weights, online.weights}, 0);
  s.rows = online.rows;
  return s;
}

}  // namespace rlpp::train::offpolicy

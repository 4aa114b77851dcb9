// π_φ on the LibTorch reference path: an nn::ActorCritic updated by props_behavior_update.
#include <vector>

#include "rlpp/nn/action_sampling.h"
#include "rlpp/train/behavior_policy.h"

namespace rlpp::train {

namespace {

class TorchBehaviorPolicy final : public BehaviorPolicy {
 public:
  TorchBehaviorPolicy(const LearnerConfig& config, nn::ActorCritic init) : config_(config), phi_(std::move(init)) {}

  void sample(const float* obs, int64_t n, core::Rng& rng, float* actions) override {
    torch::NoGradGuard no_grad;
    const torch::Tensor o = torch::from_blob(const_cast<float*>(obs), {n, config_.obs_dim});
    const torch::Tensor out = phi_->actor_out(o).contiguous();  // (n, A)
    std::vector<float> logp(static_cast<size_t>(n));
    if (config_.discrete) {
      nn::sample_categorical(out.data_ptr<float>(), n, config_.act_dim, rng, false, actions, logp.data());
    } else {
      const torch::Tensor log_std = phi_->log_std.contiguous();  // (A)
      nn::sample_gaussian(out.data_ptr<float>(), log_std.data_ptr<float>(), n, config_.act_dim, rng, false, actions,
                          logp.data());
    }
  }

  BehaviorUpdateStats update(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                             const PropsOptions& opts, core::Rng& rng) override {
    return props_behavior_update(theta, phi_, obs, actions, opts, rng);
  }

  void save(torch::serialize::OutputArchive& archive) override { phi_->save(archive); }
  void load(torch::serialize::InputArchive& archive) override { phi_->load(archive); }

 private:
  LearnerConfig config_;
  nn::ActorCritic phi_;  // π_φ (its critic is unused)
};

}  // namespace

std::unique_ptr<BehaviorPolicy> make_torch_behavior_policy(const LearnerConfig& config, nn::ActorCritic init) {
  return std::make_unique<TorchBehaviorPolicy>(config, std::move(init));
}

}  // namespace rlpp::train

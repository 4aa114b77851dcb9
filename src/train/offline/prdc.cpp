#include "rlpp/train/offline/prdc.h"

#include "rlpp/train/offline/bc.h"
#include "rlpp/train/offline/td3_offline_run.h"
#include "rlpp/train/offline/td3_bc.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/td3.h"

namespace rlpp::train::offline {

void PrdcOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("learning_rate", learning_rate, "Adam learning rate of the actor and the critics", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target networks", Bounds::closed(0, 1));
  b.num("policy_noise", policy_noise, "target smoothing noise (times the action scale)", Bounds::non_negative());
  b.num("noise_clip", noise_clip, "clip of the target smoothing noise (times the action scale)", Bounds::non_negative());
  b.integer("policy_frequency", policy_frequency, "actor and target updates every this many steps",
            Bounds::closed(1, 1000));
  b.num("alpha", alpha, "alpha of lambda = alpha / mean|Q| (weight of the Q term)", Bounds::positive());
  b.num("beta", beta, "weight of the state in the nearest-neighbour key (beta s, a)", Bounds::non_negative());
  b.num("exploration_noise", exploration_noise,
        "online phase (offline.online_steps): TD3's behaviour noise std, times the action scale", Bounds::non_negative());
  b.integers("hidden", hidden, "hidden widths of the actor and critic MLPs (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor prdc_keys(const torch::Tensor& obs, const torch::Tensor& act, double beta) {
  return torch::cat({obs * beta, act}, 1);
}

torch::Tensor prdc_nearest_actions(const KdTree& tree, const torch::Tensor& dataset_actions, const torch::Tensor& obs,
                                   const torch::Tensor& pi, double beta) {
  torch::NoGradGuard no_grad;
  const torch::Tensor keys = prdc_keys(obs, pi, beta).to(torch::kFloat32).contiguous();  // (B, S + A)
  TORCH_CHECK(keys.size(1) == tree.dim(), "prdc: keys of width ", keys.size(1), " against a tree of width ", tree.dim());
  const int64_t n = keys.size(0);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  tree.nearest_batch(keys.data_ptr<float>(), n, idx.data());
  return dataset_actions.index_select(0, torch::tensor(idx, torch::kInt64));
}

// TD3+BC's actor loss with â in place of the dataset action.
PrdcActorLoss prdc_actor_loss(const torch::Tensor& q, const torch::Tensor& pi, const torch::Tensor& nearest,
                              double alpha) {
  const Td3BcActorLoss l = td3_bc_actor_loss(q, pi, nearest.detach(), alpha);
  torch::NoGradGuard no_grad;
  return {l.loss, l.lambda, bc_loss(pi, nearest)};
}

// ---- the trainer ---------------------------------------------------------------------------------

namespace metric {
inline constexpr const char* kPrdcDcLoss = "prdc/dc_loss";          // mean (π(s) − â)²
inline constexpr const char* kPrdcNearestDist = "prdc/key_distance";  // mean ‖key − nearest key‖
}  // namespace metric

std::vector<float> prdc_dataset_keys(const D4rlDataset& d, bool normalize, double beta) {
  std::vector<float> obs = d.observations;  // (N, S)
  if (normalize) {
    const ObsStats s = observation_stats(d.observations, d.obs_dim, 1e-3);
    std::vector<float> mean(s.mean.begin(), s.mean.end()), sd(s.std.begin(), s.std.end());
    for (size_t i = 0; i < obs.size(); ++i) {
      const size_t k = i % mean.size();
      obs[i] = (obs[i] - mean[k]) / sd[k];
    }
  }
  const torch::Tensor o = torch::from_blob(obs.data(), {d.size(), d.obs_dim}, torch::kFloat32);
  const torch::Tensor a =
      torch::from_blob(const_cast<float*>(d.actions.data()), {d.size(), d.act_dim}, torch::kFloat32);
  const torch::Tensor keys = prdc_keys(o, a, beta).contiguous();  // the queries' own arithmetic
  return std::vector<float>(keys.data_ptr<float>(), keys.data_ptr<float>() + keys.numel());
}

namespace {

OfflineOptions prdc_defaults() {
  OfflineOptions o;  // TD3+BC's main.py, which PRDC's code keeps
  o.batch_size = 256;
  o.gamma = 0.99;
  o.normalize_observations = true;
  return o;
}

class PrdcTrainer : public Td3OfflineRun {
 public:
  PrdcTrainer(const core::Recipe& recipe, const RunContext& ctx) : Td3OfflineRun(recipe, ctx, prdc_defaults(), "prdc") {
    opts_ = core::read_options<PrdcOptions>(recipe, "prdc");
    recipe.check_all_used();
    {  // the tree over (β s, a) of the whole dataset, in OfflineRun's normalisation
      const D4rlDataset d = read_d4rl(data_opts_.path);
      const std::vector<float> keys = prdc_dataset_keys(d, off_.normalize_observations, opts_.beta);
      tree_ = std::make_unique<KdTree>(keys, obs_dim_ + act_dim_);
      data_actions_ = torch::from_blob(const_cast<float*>(d.actions.data()), {d.size(), act_dim_}, torch::kFloat32).clone();
    }
    build_td3_networks(opts_.hidden, opts_.hidden, opts_.learning_rate);
    exploration_noise_ = opts_.exploration_noise;
    declare_metrics({metric::kQf1Values, metric::kQfLoss, metric::kActorLoss, metric::kLambda, metric::kPrdcDcLoss,
                     metric::kPrdcNearestDist});
    toml::table own;
    core::write_options(opts_, &own, "prdc");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_a = smoothed_next_action(batch, opts_.policy_noise, opts_.noise_clip);
      target = offpolicy::td3_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next_a),
                                            qf2_target_->forward(batch.next_obs, next_a));
    }
    critic_step(batch, target);
    // PRDC's code (TD3_BC.py's loop) counts total_it from 1: the actor steps when total_it % freq == 0.
    if ((step_index + 1) % opts_.policy_frequency == 0) {
      const torch::Tensor pi = actor_->forward(batch.obs);
      const torch::Tensor nearest = prdc_nearest_actions(*tree_, data_actions_, batch.obs, pi, opts_.beta);  // (B, A)
      const PrdcActorLoss l = prdc_actor_loss(qf1_->forward(batch.obs, pi), pi, nearest, opts_.alpha);
      actor_opt_->zero_grad();
      l.loss.backward();
      actor_opt_->step();
      accumulate(metric::kActorLoss, l.loss.item<double>());
      accumulate(metric::kLambda, l.lambda.item<double>());
      accumulate(metric::kPrdcDcLoss, l.dc_loss.item<double>());
      // the key distance: β s is the same on both sides, so it is ‖π(s) − â‖ at least (0 when the
      // nearest key is the row's own state)
      accumulate(metric::kPrdcNearestDist, (pi.detach() - nearest).norm(2, 1).mean().item<double>());
      update_targets(opts_.tau);
    }
  }

  void save_model(CheckpointWriter& w) override { save_td3_networks(w); }
  void load_model(CheckpointReader& r) override { load_td3_networks(r); }

  PrdcOptions opts_;
  std::unique_ptr<KdTree> tree_;  // over (β s, a) of every dataset row (rebuilt, not checkpointed)
  torch::Tensor data_actions_;    // (N, A) the dataset's actions, row i = tree row i
};

}  // namespace

std::unique_ptr<Trainer> make_prdc_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<PrdcTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline

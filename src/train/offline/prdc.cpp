#include "rlpp/train/offline/prdc.h"

#include "rlpp/train/offline/bc.h"
#include "rlpp/train/offline/offline_run.h"
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

class PrdcTrainer : public OfflineRun {
 public:
  PrdcTrainer(const core::Recipe& recipe, const RunContext& ctx) : OfflineRun(recipe, ctx, prdc_defaults(), "prdc") {
    opts_ = core::read_options<PrdcOptions>(recipe, "prdc");
    recipe.check_all_used();
    {  // the tree over (β s, a) of the whole dataset, in OfflineRun's normalisation
      const D4rlDataset d = read_d4rl(data_opts_.path);
      const std::vector<float> keys = prdc_dataset_keys(d, off_.normalize_observations, opts_.beta);
      tree_ = std::make_unique<KdTree>(keys, obs_dim_ + act_dim_);
      data_actions_ = torch::from_blob(const_cast<float*>(d.actions.data()), {d.size(), act_dim_}, torch::kFloat32).clone();
    }
    scale_ = action_scale();
    low_t_ = action_low();
    high_t_ = action_high();
    actor_ = offpolicy::DeterministicActor(obs_dim_, act_dim_, opts_.hidden, scale_, action_bias());
    actor_target_ = offpolicy::DeterministicActor(obs_dim_, act_dim_, opts_.hidden, scale_, action_bias());
    qf1_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf1_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    offpolicy::polyak_update(actor_target_->parameters(), actor_->parameters(), 1.0);
    offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
    offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
    std::vector<torch::Tensor> q_params = qf1_->parameters();
    for (const auto& p : qf2_->parameters()) q_params.push_back(p);
    q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(opts_.learning_rate));
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(opts_.learning_rate));
    declare_metrics({metric::kQf1Values, metric::kQfLoss, metric::kActorLoss, metric::kLambda, metric::kPrdcDcLoss,
                     metric::kPrdcNearestDist});
    toml::table own;
    core::write_options(opts_, &own, "prdc");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  torch::Tensor act(const torch::Tensor& obs) override { return actor_->forward(obs); }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_a = offpolicy::td3_target_action(
          actor_target_->forward(batch.next_obs), normal_noise(batch.obs.size(0), act_dim_), opts_.policy_noise,
          opts_.noise_clip, scale_, low_t_, high_t_);
      target = offpolicy::td3_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next_a),
                                            qf2_target_->forward(batch.next_obs, next_a));
    }
    const torch::Tensor q1 = qf1_->forward(batch.obs, batch.actions), q2 = qf2_->forward(batch.obs, batch.actions);
    const torch::Tensor qf_loss = offpolicy::twin_critic_loss(q1, q2, target, batch.weights);
    q_opt_->zero_grad();
    qf_loss.backward();
    q_opt_->step();
    accumulate(metric::kQf1Values, q1.mean().item<double>());
    accumulate(metric::kQfLoss, qf_loss.item<double>());
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
      offpolicy::polyak_update(actor_target_->parameters(), actor_->parameters(), opts_.tau);
      offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), opts_.tau);
      offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), opts_.tau);
    }
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "actor", *actor_);
    save_module(w, "qf1", *qf1_);
    save_module(w, "qf2", *qf2_);
    save_module(w, "actor_target", *actor_target_);
    save_module(w, "qf1_target", *qf1_target_);
    save_module(w, "qf2_target", *qf2_target_);
    save_optimizer(w, "q_optimizer", *q_opt_);
    save_optimizer(w, "actor_optimizer", *actor_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    load_module(r, "qf1", *qf1_);
    load_module(r, "qf2", *qf2_);
    load_module(r, "actor_target", *actor_target_);
    load_module(r, "qf1_target", *qf1_target_);
    load_module(r, "qf2_target", *qf2_target_);
    load_optimizer(r, "q_optimizer", *q_opt_);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
  }

  PrdcOptions opts_;
  std::unique_ptr<KdTree> tree_;  // over (β s, a) of every dataset row (rebuilt, not checkpointed)
  torch::Tensor data_actions_;    // (N, A) the dataset's actions, row i = tree row i
  torch::Tensor scale_, low_t_, high_t_;  // (A)
  offpolicy::DeterministicActor actor_{nullptr}, actor_target_{nullptr};
  offpolicy::ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_prdc_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<PrdcTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline

#include "rlpp/train/offpolicy/dqn.h"

#include <algorithm>

#include "rlpp/core/error.h"
#include "rlpp/train/offpolicy/fast_dqn_update.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/offpolicy_run.h"
#include "rlpp/train/offpolicy/trainers.h"

namespace rlpp::train::offpolicy {

void DqnOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("learning_rate", learning_rate, "Adam learning rate", Bounds::positive());
  b.num("tau", tau, "target update coefficient (1 = hard copy)", Bounds::closed(0, 1));
  b.integer("target_network_frequency", target_network_frequency, "batch steps between target updates",
            Bounds::closed(1, 1 << 30));
  b.num("start_e", start_e, "epsilon at the start", Bounds::unit());
  b.num("end_e", end_e, "epsilon at the end of the schedule", Bounds::unit());
  b.num("exploration_fraction", exploration_fraction, "fraction of the run over which epsilon falls to end_e",
        Bounds::closed(1e-9, 1));
  b.flag("double_q", double_q, "Double DQN target: argmax from the online network, value from the target");
  b.choice("loss", loss, {"mse", "huber"}, "TD loss: squared error (CleanRL) or Huber (delta 1)");
  b.integers("hidden", hidden, "hidden widths of the Q MLP (ReLU)", Bounds::closed(1, 1 << 16));
  b.choice("backend", backend, {"libtorch", "fast"},
           "the update's implementation: LibTorch autograd (reference) or flat buffers with a hand-derived gradient");
}

double linear_schedule(double start, double end, double duration, int64_t t) {
  const double slope = (end - start) / duration;
  return std::max(slope * static_cast<double>(t) + start, end);
}

torch::Tensor dqn_target(const torch::Tensor& returns, const torch::Tensor& discount, const torch::Tensor& next_q_online,
                         const torch::Tensor& next_q_target, bool double_q) {
  const torch::Tensor a_star = (double_q ? next_q_online : next_q_target).argmax(1, /*keepdim=*/true);  // (B, 1)
  return returns + discount * next_q_target.gather(1, a_star).squeeze(1);
}

torch::Tensor dqn_loss(const torch::Tensor& q_taken, const torch::Tensor& target, const torch::Tensor& weights,
                       const std::string& loss) {
  const torch::Tensor d = q_taken - target;
  const torch::Tensor l = loss == "huber" ? torch::where(d.abs() <= 1.0, 0.5 * d.pow(2), d.abs() - 0.5) : d.pow(2);
  return (weights * l).mean();
}

namespace {

OffPolicyOptions dqn_defaults() {
  OffPolicyOptions o;  // CleanRL's dqn.py
  o.buffer_size = 10000;
  o.batch_size = 128;
  o.gamma = 0.99;
  o.learning_starts = 10000;
  o.train_frequency = 10;
  return o;
}

class DqnTrainer : public OffPolicyRun {
 public:
  DqnTrainer(const core::Recipe& recipe, const RunContext& ctx)
      : OffPolicyRun(recipe, ctx, dqn_defaults(), /*discrete=*/true, "dqn") {
    dqn_ = core::read_options<DqnOptions>(recipe, "dqn");
    recipe.check_all_used();
    q_ = DiscreteQ(obs_dim_, act_dim_, dqn_.hidden);
    q_target_ = DiscreteQ(obs_dim_, act_dim_, dqn_.hidden);
    polyak_update(q_target_->parameters(), q_->parameters(), 1.0);
    opt_ = std::make_unique<torch::optim::Adam>(q_->parameters(), torch::optim::AdamOptions(dqn_.learning_rate));
    declare_metrics({metric::kTdLoss, metric::kQValues});
    if (dqn_.backend == "fast") {
      FastDqnConfig fc;
      fc.obs_dim = obs_dim_;
      fc.num_actions = act_dim_;
      fc.hidden = dqn_.hidden;
      fc.learning_rate = dqn_.learning_rate;
      fc.double_q = dqn_.double_q;
      fc.loss = dqn_.loss;
      fast_ = std::make_unique<FastDqn>(fc);
      fast_->copy_from(q_, q_target_);
    }
    toml::table own;
    core::write_options(dqn_, &own, "dqn");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }
  bool random_warmup() const override { return false; }  // ε-greedy from the first step (ε starts at start_e)

  double epsilon() const {
    return linear_schedule(dqn_.start_e, dqn_.end_e, dqn_.exploration_fraction * static_cast<double>(total_batch_steps()),
                           batch_steps_done());
  }

  void act(const float* obs, int64_t n, bool explore, float* actions) override {
    const int64_t* greedy = nullptr;  // (n)
    torch::Tensor greedy_t;
    if (fast_) {
      greedy_.resize(std::max(greedy_.size(), static_cast<size_t>(n)));
      fast_->greedy(obs, n, greedy_.data());
      greedy = greedy_.data();
    } else {
      const torch::Tensor o = torch::from_blob(const_cast<float*>(obs), {n, obs_dim_}, torch::kFloat32);
      greedy_t = q_->forward(o).argmax(1).contiguous();  // (n) int64
      greedy = greedy_t.data_ptr<int64_t>();
    }
    const double eps = explore ? epsilon() : 0.0;
    for (int64_t i = 0; i < n; ++i) {
      // each copy explores on its own draw (CleanRL draws once for the whole batch)
      const bool random = explore && rng_.uniform() < eps;
      actions[i] = random ? static_cast<float>(rng_.below(static_cast<uint64_t>(act_dim_))) : static_cast<float>(greedy[i]);
    }
  }

  // train_step on the fast backend: the LibTorch path's update (below) on FastDqn's flat buffers.
  torch::Tensor fast_train_step(const ReplaySample& batch) {
    const int64_t B = batch.obs.size(0);
    const DqnBatchView view{B,
                            batch.obs.data_ptr<float>(),
                            batch.actions.data_ptr<float>(),
                            batch.returns.data_ptr<float>(),
                            batch.next_obs.data_ptr<float>(),
                            batch.discount.data_ptr<float>(),
                            batch.weights.data_ptr<float>()};
    torch::Tensor td_abs = torch::empty({B}, torch::kFloat32);  // (B)
    const DqnStats s = fast_->train_step(view, td_abs.data_ptr<float>());
    accumulate(metric::kTdLoss, s.td_loss);
    accumulate(metric::kQValues, s.q_values);
    return td_abs;
  }

  torch::Tensor train_step(const ReplaySample& batch, int64_t) override {
    if (fast_) return fast_train_step(batch);
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_target = q_target_->forward(batch.next_obs);
      const torch::Tensor next_online = dqn_.double_q ? q_->forward(batch.next_obs) : next_target;
      target = dqn_target(batch.returns, batch.discount, next_online, next_target, dqn_.double_q);
    }
    const torch::Tensor q_taken = q_->forward(batch.obs).gather(1, batch.actions.to(torch::kInt64)).squeeze(1);  // (B)
    const torch::Tensor loss = dqn_loss(q_taken, target, batch.weights, dqn_.loss);
    opt_->zero_grad();
    loss.backward();
    opt_->step();
    torch::NoGradGuard no_grad;
    accumulate(metric::kTdLoss, loss.item<double>());
    accumulate(metric::kQValues, q_taken.mean().item<double>());
    return (q_taken - target).abs();
  }

  void after_step(int64_t t) override {
    if (t % dqn_.target_network_frequency != 0) return;
    if (fast_) {
      fast_->polyak(dqn_.tau);
    } else {
      polyak_update(q_target_->parameters(), q_->parameters(), dqn_.tau);
    }
  }

  void add_row_values(core::MetricRow* row) override { row->push_back({metric::kEpsilon, epsilon()}); }

  // One checkpoint layout for both backends (the fast one writes its weights and Adam state
  // through the modules and the torch optimizer), so either backend resumes the other's.
  void save_model(CheckpointWriter& w) override {
    if (fast_) {
      fast_->copy_to(q_, q_target_);
      fast_->adam_to(*opt_, q_);
    }
    save_module(w, "q_network", *q_);
    save_module(w, "target_network", *q_target_);
    save_optimizer(w, "optimizer", *opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "q_network", *q_);
    load_module(r, "target_network", *q_target_);
    load_optimizer(r, "optimizer", *opt_);
    if (fast_) {
      fast_->copy_from(q_, q_target_);
      fast_->adam_from(*opt_, q_);
    }
  }

  DqnOptions dqn_;
  DiscreteQ q_{nullptr}, q_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_;
  std::unique_ptr<FastDqn> fast_;  // dqn.backend = "fast": the update and the greedy policy run here
  std::vector<int64_t> greedy_;    // (n) the fast path's greedy actions
};

}  // namespace

std::unique_ptr<Trainer> make_dqn_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<DqnTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offpolicy

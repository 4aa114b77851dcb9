#include "rlpp/train/offline/bc.h"

#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offline {

void BcOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("learning_rate", learning_rate, "Adam learning rate of the actor", Bounds::positive());
  b.integers("hidden", hidden, "hidden widths of the actor MLP (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor bc_loss(const torch::Tensor& pred, const torch::Tensor& actions) { return (pred - actions).pow(2).mean(); }

namespace {

OfflineOptions bc_defaults() {
  OfflineOptions o;  // CORL any_percent_bc.py
  o.batch_size = 256;
  o.normalize_observations = true;
  return o;
}

class BcTrainer : public OfflineRun {
 public:
  BcTrainer(const core::Recipe& recipe, const RunContext& ctx) : OfflineRun(recipe, ctx, bc_defaults(), "bc") {
    bc_ = core::read_options<BcOptions>(recipe, "bc");
    recipe.check_all_used();
    actor_ = offpolicy::DeterministicActor(obs_dim_, act_dim_, bc_.hidden, action_scale(), action_bias());
    opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(bc_.learning_rate));
    declare_metrics({metric::kBcLoss});
    toml::table own;
    core::write_options(bc_, &own, "bc");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  torch::Tensor act(const torch::Tensor& obs) override { return actor_->forward(obs); }

  void train_step(const offpolicy::ReplaySample& batch, int64_t) override {
    const torch::Tensor loss = bc_loss(actor_->forward(batch.obs), batch.actions);
    opt_->zero_grad();
    loss.backward();
    opt_->step();
    accumulate(metric::kBcLoss, loss.item<double>());
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "actor", *actor_);
    save_optimizer(w, "actor_optimizer", *opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    load_optimizer(r, "actor_optimizer", *opt_);
  }

  BcOptions bc_;
  offpolicy::DeterministicActor actor_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_bc_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<BcTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline

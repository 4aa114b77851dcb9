#include "rlpp/train/props_trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/props.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"
#include "rlpp/env/vec_env.h"
#include "rlpp/train/behavior_policy.h"
#include "rlpp/train/control_run.h"
#include "rlpp/train/sampling_error.h"

namespace rlpp::train {

void PropsOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("buffer_batches", buffer_batches, "target-update batches kept in the buffer (b)", Bounds::closed(1, 64));
  b.flag("behavior", behavior, "collect with the PROPS behaviour policy (false: PPO-buffer)");
  b.integer("behavior_every", behavior_every, "env steps between behaviour updates (m)", Bounds::closed(1, 1 << 24));
  b.num("behavior_lr", behavior_lr, "behaviour-policy Adam learning rate", Bounds::positive());
  b.num("behavior_clip", behavior_clip, "PROPS ratio clip epsilon", Bounds::closed(0, 1));
  b.num("behavior_kl_coef", behavior_kl_coef, "PROPS KL regulariser weight (lambda, per action dimension)", Bounds::non_negative());
  b.num("behavior_target_kl", behavior_target_kl, "stop the behaviour update before a minibatch whose KL(phi||theta) exceeds this (0 = off)", Bounds::non_negative());
  b.integer("behavior_epochs", behavior_epochs, "behaviour-update epochs", Bounds::closed(1, 1000));
  b.integer("behavior_minibatches", behavior_minibatches, "behaviour-update minibatches per epoch", Bounds::closed(1, 1 << 16));
  b.num("behavior_max_grad_norm", behavior_max_grad_norm, "behaviour-update grad-norm clip", Bounds::positive());
  b.flag("sampling_error", sampling_error, "measure KL(pi_D||pi_theta) at each target update");
  b.integer("mle_steps", mle_steps, "full-batch Adam steps of the pi_D fit", Bounds::closed(1, 100000));
  b.num("mle_lr", mle_lr, "Adam learning rate of the pi_D fit", Bounds::positive());
}

// ---- pieces --------------------------------------------------------------------------------------

RowRing::RowRing(int64_t capacity, int64_t row_floats)
    : capacity_(capacity), row_floats_(row_floats), data_(static_cast<size_t>(capacity * row_floats)) {}

void RowRing::push(const float* row) {
  std::copy(row, row + row_floats_, data_.begin() + next_ * row_floats_);
  next_ = (next_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
}

std::vector<float> RowRing::ordered() const {
  std::vector<float> out(static_cast<size_t>(size_ * row_floats_));
  const int64_t first = size_ < capacity_ ? 0 : next_;  // the oldest row
  for (int64_t k = 0; k < size_; ++k) {
    const int64_t src = (first + k) % capacity_;
    std::copy_n(data_.begin() + src * row_floats_, row_floats_, out.begin() + k * row_floats_);
  }
  return out;
}

nn::ActorCritic snapshot_policy(ActorCriticLearner& learner, const LearnerConfig& config) {
  torch::serialize::OutputArchive out;
  learner.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  std::istringstream in_bytes(bytes.str());
  torch::serialize::InputArchive in, model;
  in.load_from(in_bytes);
  in.read("model", model);
  nn::ActorCritic module(config.obs_dim, config.act_dim, config.discrete, config.policy);
  module->load(model);
  return module;
}

void copy_policy(const nn::ActorCritic& from, nn::ActorCritic& to) {
  torch::NoGradGuard no_grad;
  const auto src = from->parameters(), dst = to->parameters();
  for (size_t k = 0; k < src.size(); ++k) dst[k].copy_(src[k]);
}

torch::Tensor policy_log_prob(nn::ActorCritic& policy, const torch::Tensor& obs, const torch::Tensor& actions) {
  if (policy->discrete()) return policy->log_prob_entropy(obs, actions.select(1, 0).to(torch::kInt64)).first;
  return policy->log_prob_entropy(obs, actions).first;
}

torch::Tensor policy_kl(nn::ActorCritic& p, nn::ActorCritic& q, const torch::Tensor& obs) {
  // q is the fixed reference: its outputs enter as constants
  if (p->discrete()) return algo::categorical_kl(p->actor_out(obs), q->actor_out(obs).detach());
  return algo::gaussian_kl(p->actor_out(obs), p->log_std, q->actor_out(obs).detach(), q->log_std.detach());
}

BehaviorUpdateStats props_behavior_update(nn::ActorCritic& theta, nn::ActorCritic& phi,
                                          const torch::Tensor& obs, const torch::Tensor& actions,
                                          const PropsOptions& opts, core::Rng& rng) {
  copy_policy(theta, phi);
  std::vector<torch::Tensor> params = phi->actor->parameters();
  if (!phi->discrete()) params.push_back(phi->log_std);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(opts.behavior_lr).eps(1e-5));
  torch::Tensor logp_theta;
  {
    torch::NoGradGuard no_grad;
    logp_theta = policy_log_prob(theta, obs, actions);  // (B), fixed target
  }
  const int64_t rows = obs.size(0);
  const int64_t mb = std::max<int64_t>(1, rows / opts.behavior_minibatches);
  std::vector<int64_t> idx(static_cast<size_t>(rows));
  std::iota(idx.begin(), idx.end(), 0);
  algo::PropsLossOptions lo{opts.behavior_clip, opts.behavior_kl_coef};
  const double kl_scale = behavior_kl_scale(phi->discrete(), phi->act_dim());
  BehaviorUpdateStats stats;
  bool stopped = false;
  for (int epoch = 0; epoch < opts.behavior_epochs && !stopped; ++epoch) {
    rng.shuffle(idx.data(), rows);
    const torch::Tensor perm = torch::from_blob(idx.data(), {rows}, torch::kInt64);
    stats.epochs = epoch + 1;
    for (int64_t start = 0; start + mb <= rows; start += mb) {
      const torch::Tensor sel = perm.slice(0, start, start + mb);
      const torch::Tensor o = obs.index_select(0, sel), a = actions.index_select(0, sel);
      const torch::Tensor kl = policy_kl(phi, theta, o);  // (mb)
      // the minibatch's KL before its step: past the target, the update ends here
      if (opts.behavior_target_kl > 0 && kl.mean().item<double>() > opts.behavior_target_kl) {
        stopped = true;
        break;
      }
      const auto out =
          algo::props_loss(policy_log_prob(phi, o, a), logp_theta.index_select(0, sel), kl * kl_scale, lo);
      adam.zero_grad();
      out.loss.backward();
      torch::nn::utils::clip_grad_norm_(params, opts.behavior_max_grad_norm);
      adam.step();
      stats.loss = out.loss.item<double>();
      stats.clipfrac = out.metrics.at("clipfrac").item<double>();
      ++stats.steps;
    }
  }
  torch::NoGradGuard no_grad;
  stats.kl = policy_kl(phi, theta, obs).mean().item<double>();
  return stats;
}

// ---- the trainer ---------------------------------------------------------------------------------

namespace {

// PPO-buffer / PROPS on ControlRun: data goes into a ring of the last b rollouts, collected by π_φ
// (PROPS) or π_θ (PPO-buffer); each update re-normalises the ring and recomputes log-probs and
// values under θ, then runs ControlRun's advantages and minibatch update.
class PropsTrainer : public ControlRun {
 public:
  PropsTrainer(const core::Recipe& recipe, const RunContext& ctx) : ControlRun(recipe, ctx) {
    props_ = core::read_options<PropsOptions>(recipe, "props");
    recipe.check_all_used();
    const int64_t n = T_ * N_;
    core::require(props_.behavior_every % N_ == 0 && n % props_.behavior_every == 0,
                  recipe.origin("props.behavior_every") + ": props.behavior_every = " +
                      std::to_string(props_.behavior_every) + " must be a multiple of env.num_envs and divide "
                      "num_steps * num_envs = " + std::to_string(n));
    phi_ = make_behavior_policy(lc_, snapshot_policy(*learner_, lc_));
    const int64_t cap = props_.buffer_batches * T_;
    obs_ring_ = std::make_unique<RowRing>(cap, N_ * obs_dim_);
    act_ring_ = std::make_unique<RowRing>(cap, N_ * act_flat_);
    rew_ring_ = std::make_unique<RowRing>(cap, N_);
    term_ring_ = std::make_unique<RowRing>(cap, N_);
    trunc_ring_ = std::make_unique<RowRing>(cap, N_);
    if (bootstraps_truncation()) final_ring_ = std::make_unique<RowRing>(cap, N_ * obs_dim_);

    envs_->reset(env_seed());
    raw_obs_.assign(envs_->obs(), envs_->obs() + N_ * obs_dim_);
    if (obs_norm_) obs_norm_->stats().update(raw_obs_.data(), N_);
    toml::table own;
    core::write_options(props_, &own, "props");
    finish_setup(resolve(recipe, own));
  }

 private:
  struct Buffer {
    int64_t rows = 0;                  // L (time rows; × N copies)
    torch::Tensor obs, actions;        // (L·N, obs_dim), (L·N, act_flat): re-normalised now
    torch::Tensor rewards, term, trunc;  // (L, N)
    torch::Tensor final_values;        // (L, N) V(final_obs) under θ (bootstrap only)
    nn::ActorCritic theta{nullptr};    // the current θ (snapshot)
  };

  int64_t checkpoint_version() const override { return kPropsCheckpointVersion; }

  core::MetricRow step() override {
    const double lr = learning_rate();
    EpisodeSums eps;
    BehaviorUpdateStats bstats;
    for (int64_t t = 0; t < T_; ++t) {
      collect_step(&eps);
      // behaviour updates inside the rollout; the one at its end follows the target update
      if (props_.behavior && ((t + 1) * N_) % props_.behavior_every == 0 && t + 1 < T_) bstats = behavior_update();
    }
    ++update_;
    sync_normalizers();
    Buffer buf = linearize();
    double sampling_error = std::nan("");
    if (props_.sampling_error) {
      sampling_error = measure_sampling_error(buf.theta, buf.obs, buf.actions, props_.mle_steps, props_.mle_lr);
    }
    const ControlUpdateSummary u = target_update(buf, lr);
    if (props_.behavior) bstats = behavior_update();

    const double nan = std::nan("");
    core::MetricRow row = control_row(lr, eps, u);
    row.insert(row.end(), {
        {"props/sampling_error", sampling_error},
        {"props/buffer_size", static_cast<double>(buf.rows)},
        {"props/behavior_kl", props_.behavior ? bstats.kl : nan},
        {"props/behavior_loss", props_.behavior ? bstats.loss : nan},
        {"props/behavior_epochs", props_.behavior ? static_cast<double>(bstats.epochs) : nan},
        {"props/behavior_steps", props_.behavior ? static_cast<double>(bstats.steps) : nan},
    });
    return row;
  }

  void collect_step(EpisodeSums* eps) {
    torch::NoGradGuard no_grad;
    global_step_ += steps_per_batch_step();
    std::vector<float> obs_n(static_cast<size_t>(N_ * obs_dim_)), act(static_cast<size_t>(N_ * act_flat_));
    normalize(raw_obs_.data(), N_, obs_n.data());
    if (props_.behavior) {
      phi_->sample(obs_n.data(), N_, rng_, act.data());
    } else {
      std::vector<float> logp(static_cast<size_t>(N_)), val(static_cast<size_t>(N_));
      learner_->act(obs_n.data(), N_, rng_, /*deterministic=*/false, act.data(), logp.data(), val.data());
    }
    obs_ring_->push(raw_obs_.data());
    act_ring_->push(act.data());
    step_envs(act.data());  // recorded when [record]
    std::vector<float> rew(envs_->reward(), envs_->reward() + N_), term(static_cast<size_t>(N_)),
        trunc(static_cast<size_t>(N_));
    record_step(rew.data(), term.data(), trunc.data(), eps);
    rew_ring_->push(rew.data());
    term_ring_->push(term.data());
    trunc_ring_->push(trunc.data());
    if (final_ring_) final_ring_->push(envs_->final_obs());
    raw_obs_.assign(envs_->obs(), envs_->obs() + N_ * obs_dim_);
    if (obs_norm_) obs_norm_->stats().update(raw_obs_.data(), N_);
  }

  // The ring's rows oldest first, observations re-normalised now, θ snapshotted.
  Buffer linearize() {
    Buffer b;
    b.rows = obs_ring_->size();
    const int64_t L = b.rows;
    const std::vector<float> raw = obs_ring_->ordered();
    std::vector<float> obs_n(raw.size());
    normalize(raw.data(), L * N_, obs_n.data());
    b.obs = torch::from_blob(obs_n.data(), {L * N_, obs_dim_}).clone();
    std::vector<float> act = act_ring_->ordered();
    b.actions = torch::from_blob(act.data(), {L * N_, act_flat_}).clone();
    auto rows = [&](const RowRing& r) {
      std::vector<float> v = r.ordered();
      return torch::from_blob(v.data(), {L, N_}).clone();
    };
    b.rewards = rows(*rew_ring_);
    b.term = rows(*term_ring_);
    b.trunc = rows(*trunc_ring_);
    b.theta = snapshot_policy(*learner_, lc_);
    if (final_ring_) {
      torch::NoGradGuard no_grad;
      const std::vector<float> fr = final_ring_->ordered();
      std::vector<float> fn(fr.size());
      normalize(fr.data(), L * N_, fn.data());
      b.final_values = b.theta->value(torch::from_blob(fn.data(), {L * N_, obs_dim_})).reshape({L, N_}).clone();
    }
    return b;
  }

  // PPO on the whole buffer with log-probs and values recomputed under the current θ.
  ControlUpdateSummary target_update(Buffer& b, double lr) {
    const int64_t L = b.rows, B = L * N_;
    torch::Tensor logp_old, values;
    std::vector<float> next_obs(static_cast<size_t>(N_ * obs_dim_)), next_value(static_cast<size_t>(N_));
    {
      torch::NoGradGuard no_grad;
      logp_old = policy_log_prob(b.theta, b.obs, b.actions).contiguous();  // (B)
      values = b.theta->value(b.obs).contiguous();                          // (B)
      normalize(raw_obs_.data(), N_, next_obs.data());
      learner_->value(next_obs.data(), N_, next_value.data());
    }
    const algo::AdvantageOutput g = advantages(b.rewards, values.reshape({L, N_}), b.term, b.trunc,
                                               torch::from_blob(next_value.data(), {N_}), b.final_values);
    const torch::Tensor adv = g.advantages.reshape({B}).contiguous(), ret = g.returns.reshape({B}).contiguous();
    const torch::Tensor obs = b.obs.contiguous(), act = b.actions.contiguous();
    const ControlBatch batch{B, obs.data_ptr<float>(), act.data_ptr<float>(), logp_old.data_ptr<float>(),
                             adv.data_ptr<float>(), ret.data_ptr<float>(), values.data_ptr<float>()};
    return minibatch_update(batch, lr);
  }

  // φ ← θ and the PROPS update on the rows the next m steps keep.
  BehaviorUpdateStats behavior_update() {
    Buffer b = linearize();
    const int64_t keep = behavior_rows(b.rows, props_.buffer_batches * T_, props_.behavior_every / N_);
    const int64_t skip = (b.rows - keep) * N_;
    const torch::Tensor obs = b.obs.slice(0, skip).contiguous(), act = b.actions.slice(0, skip).contiguous();
    return phi_->update(b.theta, obs, act, props_, rng_);
  }

  // Everything a bit-identical continuation needs beyond ControlRun's, all of it this rank's own
  // (data-parallel: each rank keeps the buffer of its copies and adapts its own behaviour policy
  // to it; the target update is the one shared step): φ, the buffer rings and the current raw
  // observations. (φ's Adam starts afresh at every behaviour update.)
  void save_rank_state(CheckpointWriter& w) override {
    ControlRun::save_rank_state(w);
    w.put_int("ring_rows", obs_ring_->size());
    w.put_floats("raw_obs", raw_obs_);
    for (const auto& [key, ring] : rings()) w.put_floats("ring_" + key, ring->ordered());
    phi_->save(w.child("phi"));
  }

  void load_rank_state(CheckpointReader& r) override {
    ControlRun::load_rank_state(r);
    const int64_t ring_rows = r.get_int("ring_rows");
    core::require(ring_rows >= 0 && ring_rows <= props_.buffer_batches * T_,
                  r.path() + ": the buffer holds " + std::to_string(ring_rows) + " rows, more than this recipe's " +
                      std::to_string(props_.buffer_batches * T_));
    raw_obs_ = r.get_floats("raw_obs", raw_obs_.size());
    for (const auto& [key, ring] : rings()) {
      const std::vector<float> rows = r.get_floats("ring_" + key, static_cast<size_t>(ring_rows * ring->row_floats()));
      ring->clear();
      for (int64_t k = 0; k < ring_rows; ++k) ring->push(rows.data() + k * ring->row_floats());
    }
    phi_->load(r.child("phi"));
  }

  // The buffer's rings by checkpoint key.
  std::vector<std::pair<std::string, RowRing*>> rings() const {
    std::vector<std::pair<std::string, RowRing*>> out = {{"obs", obs_ring_.get()},   {"act", act_ring_.get()},
                                                         {"rew", rew_ring_.get()},   {"term", term_ring_.get()},
                                                         {"trunc", trunc_ring_.get()}};
    if (final_ring_) out.emplace_back("final", final_ring_.get());
    return out;
  }

  static constexpr int64_t kPropsCheckpointVersion = 4;

  PropsOptions props_;
  std::unique_ptr<BehaviorPolicy> phi_;  // π_φ on policy.backend's path

  // The buffer: the last b·T rows of N copies, time-major.
  std::unique_ptr<RowRing> obs_ring_;    // (rows, N·obs_dim) raw observations
  std::unique_ptr<RowRing> act_ring_;    // (rows, N·act_flat) unclipped actions
  std::unique_ptr<RowRing> rew_ring_;    // (rows, N) rewards (scaled when normalize_reward)
  std::unique_ptr<RowRing> term_ring_;   // (rows, N)
  std::unique_ptr<RowRing> trunc_ring_;  // (rows, N)
  std::unique_ptr<RowRing> final_ring_;  // (rows, N·obs_dim) raw final observations (bootstrap only)
  std::vector<float> raw_obs_;           // (N, obs_dim) the batch's current raw observations
};

}  // namespace

std::unique_ptr<Trainer> make_props_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<PropsTrainer>(recipe, ctx);
}

}  // namespace rlpp::train

#include "rlpp/train/offpolicy/offpolicy_run.h"

#include <cmath>
#include <sstream>

#include "rlpp/core/error.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/control_eval.h"
#include "rlpp/train/metric_names.h"
#include "rlpp/train/policy_only.h"

namespace rlpp::train::offpolicy {

void OffPolicyOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("buffer_size", buffer_size, "replay capacity in transitions (rounded up to a multiple of env.num_envs)",
            Bounds::closed(1, 1e9));
  b.integer("batch_size", batch_size, "transitions per gradient step", Bounds::closed(1, 1 << 20));
  b.num("gamma", gamma, "discount factor", Bounds::unit());
  b.integer("learning_starts", learning_starts, "batch steps before the first gradient step", Bounds::non_negative());
  b.integer("train_frequency", train_frequency, "batch steps between training phases", Bounds::closed(1, 1 << 20));
  b.integer("gradient_steps", gradient_steps, "gradient steps per training phase (update-to-data ratio)",
            Bounds::closed(1, 1 << 20));
  b.integer("steps_per_update", steps_per_update, "batch steps per metrics row (the unit of run.checkpoint_every)",
            Bounds::closed(1, 1 << 30));
}

void transition_next_obs(const env::VecEnv& envs, float* next_obs) {
  const int64_t n = envs.num_envs(), d = envs.obs_dim();
  std::copy_n(envs.obs(), n * d, next_obs);
  for (int64_t i = 0; i < n; ++i) {
    if (envs.terminated()[i] || envs.truncated()[i]) std::copy_n(envs.final_obs() + i * d, d, next_obs + i * d);
  }
}

OffPolicyRun::OffPolicyRun(const core::Recipe& recipe, const RunContext& ctx, const OffPolicyOptions& defaults,
                           bool discrete, const std::string& algorithm)
    : LoopTrainer(ctx), off_(defaults) {
  run_ = core::read_options<RunOptions>(recipe, "run");
  env_opts_ = read_env_section(recipe);
  read_into(recipe, "offpolicy", &off_);
  replay_opts_ = core::read_options<ReplayOptions>(recipe, "replay");

  torch::set_num_threads(run_.torch_threads);
  torch::manual_seed(static_cast<uint64_t>(run_.seed));
  rng_.reseed(static_cast<uint64_t>(run_.seed));
  envs_ = env_opts_.make();
  const env::Space& action = envs_->spec().action;
  if (discrete) {
    core::require(action.is_discrete(), recipe.origin("env.name") + ": " + algorithm + " needs a discrete action space; " +
                                            env_opts_.name + "'s actions are continuous (use sac or td3)");
    act_dim_ = action.n;
  } else {
    core::require(!action.is_discrete(), recipe.origin("env.name") + ": " + algorithm +
                                             " needs a continuous (Box) action space; " + env_opts_.name +
                                             "'s actions are discrete (use dqn)");
    for (int64_t i = 0; i < action.dim; ++i) {
      core::require(std::isfinite(action.low[static_cast<size_t>(i)]) && std::isfinite(action.high[static_cast<size_t>(i)]),
                    recipe.origin("env.name") + ": " + algorithm + " needs a bounded action box; " + env_opts_.name +
                        "'s action component " + std::to_string(i) + " is unbounded");
    }
    act_dim_ = action.dim;
    low_ = action.low;
    high_ = action.high;
  }
  N_ = envs_->num_envs();
  obs_dim_ = envs_->obs_dim();
  act_flat_ = envs_->act_dim();
  const int64_t per_update = off_.steps_per_update * N_;
  num_updates_ = run_.total_steps / per_update;
  core::require(num_updates_ >= 1, recipe.origin("run.total_steps") + ": run.total_steps = " +
                                       std::to_string(run_.total_steps) + " is less than one update (offpolicy.steps_per_update * env.num_envs = " +
                                       std::to_string(per_update) + " steps)");
  core::require(off_.buffer_size >= off_.batch_size,
                recipe.origin("offpolicy.buffer_size") + ": offpolicy.buffer_size = " + std::to_string(off_.buffer_size) +
                    " is smaller than offpolicy.batch_size = " + std::to_string(off_.batch_size));
  replay_ = std::make_unique<ReplayBuffer>(off_.buffer_size, N_, obs_dim_, act_flat_, off_.gamma, replay_opts_);
  if (!replay_opts_.offline_dataset.empty()) {
    core::require(!replay_opts_.prioritized && replay_opts_.n_step == 1,
                  recipe.origin("replay.offline_dataset") +
                      ": replay.offline_dataset needs uniform one-step replay (replay.prioritized = false, "
                      "replay.n_step = 1)");
    core::require(!discrete, recipe.origin("replay.offline_dataset") + ": " + algorithm +
                                 ": replay.offline_dataset is for continuous-action trainers");
    offline_ = std::make_unique<OfflineMix>(
        replay_opts_.offline_dataset, replay_opts_.offline_ratio, envs_->spec(), off_.gamma,
        recipe.origin("replay.offline_dataset") + ": dataset '" + replay_opts_.offline_dataset + "'");
  }
  obs_.resize(static_cast<size_t>(N_ * obs_dim_));
  next_obs_.resize(obs_.size());
  actions_.resize(static_cast<size_t>(N_ * act_flat_));
}

void OffPolicyRun::start(const core::Recipe& recipe, const toml::table& own) {
  envs_->reset(static_cast<uint64_t>(run_.seed));
  toml::table out;
  core::write_options(run_, &out, "run");
  core::write_options(env_opts_, &out, "env");
  core::write_options(off_, &out, "offpolicy");
  core::write_options(replay_opts_, &out, "replay");
  for (const auto& [k, v] : own) {
    if (const toml::table* t = v.as_table()) out.insert(k, *t);
  }
  std::ostringstream s;
  s << "# Resolved recipe (every option, defaults filled in), from " << recipe.source() << "\n"
    << core::to_toml_text(out) << "\n";
  finish_setup(s.str());
}

void OffPolicyRun::declare_metrics(const std::vector<const char*>& names) {
  means_.clear();
  for (const char* n : names) means_.push_back({n});
}

void OffPolicyRun::accumulate(const char* name, double value) {
  for (Mean& m : means_) {
    if (std::string_view(m.name) == name) {
      m.sum += value;
      m.count += 1;
      return;
    }
  }
  throw std::logic_error(std::string("OffPolicyRun::accumulate: undeclared metric ") + name);
}

torch::Tensor OffPolicyRun::twin_critic_step(ContinuousQ& qf1, ContinuousQ& qf2, torch::optim::Optimizer& opt,
                                             const ReplaySample& batch, const torch::Tensor& target) {
  const torch::Tensor q1 = qf1->forward(batch.obs, batch.actions), q2 = qf2->forward(batch.obs, batch.actions);
  const torch::Tensor qf_loss = twin_critic_loss(q1, q2, target, batch.weights);
  opt.zero_grad();
  qf_loss.backward();
  opt.step();
  torch::NoGradGuard no_grad;
  accumulate(metric::kQf1Values, q1.mean().item<double>());
  accumulate(metric::kQf2Values, q2.mean().item<double>());
  accumulate(metric::kQf1Loss, (batch.weights * (q1 - target).pow(2)).mean().item<double>());
  accumulate(metric::kQf2Loss, (batch.weights * (q2 - target).pow(2)).mean().item<double>());
  accumulate(metric::kQfLoss, qf_loss.item<double>());
  return 0.5 * ((q1 - target).abs() + (q2 - target).abs());
}

torch::Tensor OffPolicyRun::action_scale() const {
  std::vector<float> s(low_.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = (high_[i] - low_[i]) / 2.f;
  return torch::tensor(s, torch::kFloat32);
}

torch::Tensor OffPolicyRun::action_bias() const {
  std::vector<float> s(low_.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = (high_[i] + low_[i]) / 2.f;
  return torch::tensor(s, torch::kFloat32);
}

torch::Tensor OffPolicyRun::normal_noise(int64_t n, int64_t a) {
  torch::Tensor t = torch::empty({n, a}, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < n * a; ++i) p[i] = static_cast<float>(rng_.normal());
  return t;
}

double OffPolicyRun::beta_now() const {
  const double total = static_cast<double>(num_updates_ * off_.steps_per_update);
  return replay_opts_.beta + (1.0 - replay_opts_.beta) * std::min(1.0, static_cast<double>(t_) / total);
}

void OffPolicyRun::batch_step() {
  std::copy_n(envs_->obs(), N_ * obs_dim_, obs_.begin());
  if (random_warmup() && t_ < off_.learning_starts) {
    for (int64_t i = 0; i < N_; ++i) {
      for (int64_t k = 0; k < act_flat_; ++k) {
        actions_[static_cast<size_t>(i * act_flat_ + k)] =
            low_.empty() ? static_cast<float>(rng_.below(static_cast<uint64_t>(act_dim_)))
                         : static_cast<float>(rng_.uniform(low_[static_cast<size_t>(k)], high_[static_cast<size_t>(k)]));
      }
    }
  } else {
    torch::NoGradGuard no_grad;
    act(obs_.data(), N_, /*explore=*/true, actions_.data());
  }
  envs_->step(actions_.data());
  transition_next_obs(*envs_, next_obs_.data());
  for (int64_t i = 0; i < N_; ++i) {
    if (!(envs_->terminated()[i] || envs_->truncated()[i])) continue;
    const double r = envs_->episode_return()[i];
    ep_ret_sum_ += r;
    ep_len_sum_ += envs_->episode_length()[i];
    ep_count_ += 1;
    recent_.push(r);
    ++episodes_;
  }
  replay_->add(obs_.data(), actions_.data(), envs_->reward(), next_obs_.data(), envs_->terminated(), envs_->truncated());
  if (t_ > off_.learning_starts) {
    if (t_ % off_.train_frequency == 0) {
      for (int g = 0; g < off_.gradient_steps; ++g) {
        if (offline_) {  // offline rows first, then online, from the one generator
          const int64_t n_off = offline_->rows_per_batch(off_.batch_size);
          const ReplaySample off = offline_->sample(n_off, rng_);
          train_step(OfflineMix::concat(off, replay_->sample(off_.batch_size - n_off, rng_, 1.0)), t_);
        } else {
          const ReplaySample batch = replay_->sample(off_.batch_size, rng_, beta_now());
          const torch::Tensor td = train_step(batch, t_).detach().to(torch::kFloat32).contiguous();
          replay_->update_priorities(batch.rows, td.data_ptr<float>());
        }
        ++gradient_steps_done_;
      }
    }
    after_step(t_);
  }
  ++t_;
  global_step_ += N_;
}

core::MetricRow OffPolicyRun::step() {
  for (int s = 0; s < off_.steps_per_update; ++s) batch_step();
  ++update_;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - call_start_).count();
  const double nan = std::nan("");
  core::MetricRow row = {
      {train::metric::kEpisodicReturn, ep_count_ ? ep_ret_sum_ / ep_count_ : nan},
      {train::metric::kEpisodicLength, ep_count_ ? ep_len_sum_ / ep_count_ : nan},
      {train::metric::kEpisodes, static_cast<double>(episodes_)},
      {train::metric::kReturnMean100, recent_.mean()},
      {train::metric::kSps, static_cast<double>(global_step_ - call_start_step_) / std::max(elapsed, 1e-9)},
      {metric::kGradientSteps, static_cast<double>(gradient_steps_done_)},
  };
  for (Mean& m : means_) {
    row.push_back({m.name, m.count ? m.sum / static_cast<double>(m.count) : nan});
    m = Mean{m.name};
  }
  add_row_values(&row);
  ep_ret_sum_ = ep_len_sum_ = 0;
  ep_count_ = 0;
  return row;
}

LoopPosition OffPolicyRun::position() const {
  return {update_, num_updates_, global_step_, num_updates_ * off_.steps_per_update * N_};
}

void OffPolicyRun::on_start(core::MetricsLogger&) {
  call_start_ = std::chrono::steady_clock::now();
  call_start_step_ = global_step_;
}

std::optional<double> OffPolicyRun::progress_value() const {
  return recent_.count() ? std::optional<double>(recent_.mean()) : std::nullopt;
}

void OffPolicyRun::save_state(CheckpointWriter& w) {
  w.put_ints("counters", {global_step_, update_, t_, episodes_, gradient_steps_done_});
  recent_.save(w, "recent_returns");
  if (offline_) w.put_ints("offline_dataset", offline_->fingerprint());
  save_model(w);
}

void OffPolicyRun::load_state(CheckpointReader& r, bool full) {
  if (offline_) {
    core::require(r.get_ints("offline_dataset", offline_->fingerprint().size()) == offline_->fingerprint(),
                  "checkpoint '" + r.path() + "' was written with another replay.offline_dataset than '" +
                      replay_opts_.offline_dataset + "' (rows, widths or the CRC-32 of actions and rewards differ)");
  }
  load_model(r);
  if (!full) return;
  const auto c = r.get_ints("counters", 5);
  global_step_ = c[0];
  update_ = c[1];
  t_ = c[2];
  episodes_ = c[3];
  gradient_steps_done_ = c[4];
  recent_.load(r, "recent_returns");
}

void OffPolicyRun::save_rank_state(CheckpointWriter& w) {
  w.put_rng("rng", rng_);
  w.put_env("env", *envs_);
  replay_->save(w, "replay");
}

void OffPolicyRun::load_rank_state(CheckpointReader& r) {
  r.get_rng("rng", &rng_);
  r.get_env("env", envs_.get());
  replay_->load(r, "replay");
}

void OffPolicyRun::save_module(CheckpointWriter& w, const std::string& key, torch::nn::Module& m) { m.save(w.child(key)); }

void OffPolicyRun::load_module(CheckpointReader& r, const std::string& key, torch::nn::Module& m) { m.load(r.child(key)); }

void OffPolicyRun::save_optimizer(CheckpointWriter& w, const std::string& key, torch::optim::Optimizer& o) {
  o.save(w.child(key));
}

void OffPolicyRun::load_optimizer(CheckpointReader& r, const std::string& key, torch::optim::Optimizer& o) {
  o.load(r.child(key));
}

EvalResult OffPolicyRun::evaluate(const EvalRequest& req) {
  PolicyOnly policy([this](const float* obs, int64_t n, float* actions) {
    torch::NoGradGuard no_grad;
    act(obs, n, /*explore=*/false, actions);
  });
  return evaluate_control_policy(env_opts_, policy, req.episodes, req.seed,
                                 [this](const float* x, int64_t n, float* y) { std::copy_n(x, n * obs_dim_, y); });
}

}  // namespace rlpp::train::offpolicy

#include "rlpp/train/offline/offline_run.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rlpp/core/error.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/control_eval.h"
#include "rlpp/train/metric_names.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/episodes.h"
#include "rlpp/train/policy_only.h"

namespace rlpp::train::offline {

void DatasetOptions::bind(core::Binder& b) {
  b.text("path", path, "D4RL-layout HDF5 file of transitions (docs/datasets.md; rlpp dataset collect)");
}

void OfflineOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("batch_size", batch_size, "transitions per gradient step", Bounds::closed(1, 1 << 20));
  b.num("gamma", gamma, "discount factor", Bounds::unit());
  b.integer("gradient_steps", gradient_steps, "gradient steps per loop update (one metrics row)",
            Bounds::closed(1, 1 << 30));
  b.integer("eval_every", eval_every, "loop updates between evaluations (0 = only after the last)",
            Bounds::closed(0, 1 << 30));
  b.integer("eval_episodes", eval_episodes, "episodes of each evaluation", Bounds::closed(1, 100000));
  b.flag("normalize_observations", normalize_observations,
         "normalise observations with the dataset's mean and std + 1e-3 (TD3+BC)");
  b.flag("normalize_rewards", normalize_rewards,
         "scale rewards by 1000 / (max - min episode return) (IQL's locomotion setting)");
  b.text("reference_returns", reference_returns,
         "reference-returns table for eval/score (\"\" = configs/d4rl_reference_returns.toml)");
  b.integer("online_steps", online_steps,
            "env steps of the online phase after the offline gradient steps (0 = none; a multiple of gradient_steps)",
            Bounds::closed(0, int64_t{1} << 40));
  b.integer("updates_per_step", updates_per_step, "gradient steps after each online env step",
            Bounds::closed(1, 1 << 20));
  b.num("offline_ratio", offline_ratio,
        "online phase: share of each batch drawn from the dataset, the rest from online rows (RLPD: 0.5; -1 = uniform over both)",
        Bounds::closed(-1, 1));
  if (offline_ratio < 0 && offline_ratio != -1)
    b.reject("offline_ratio", "= " + std::to_string(offline_ratio) + " must be in [0, 1], or -1 (uniform over dataset and online rows)");
}

ObsStats observation_stats(const std::vector<float>& obs, int64_t obs_dim, double eps) {
  const auto d = static_cast<size_t>(obs_dim);
  const size_t n = obs.size() / d;
  ObsStats s;
  s.mean.assign(d, 0.0);
  s.std.assign(d, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < d; ++k) s.mean[k] += obs[i * d + k];
  for (size_t k = 0; k < d; ++k) s.mean[k] /= static_cast<double>(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < d; ++k) s.std[k] += (obs[i * d + k] - s.mean[k]) * (obs[i * d + k] - s.mean[k]);
  for (size_t k = 0; k < d; ++k) s.std[k] = std::sqrt(s.std[k] / static_cast<double>(n)) + eps;
  return s;
}

double iql_reward_scale(const std::vector<double>& episode_returns) {
  core::require(!episode_returns.empty(), "offline.normalize_rewards: the dataset has no episodes");
  const auto [lo, hi] = std::minmax_element(episode_returns.begin(), episode_returns.end());
  core::require(*hi > *lo, "offline.normalize_rewards: every episode of the dataset has the return " +
                               std::to_string(*lo) + "; 1000 / (max - min) is undefined");
  return 1000.0 / (*hi - *lo);
}

OfflineRun::OfflineRun(const core::Recipe& recipe, const RunContext& ctx, const OfflineOptions& defaults,
                       const std::string& algorithm)
    : LoopTrainer(ctx), off_(defaults) {
  run_ = core::read_options<RunOptions>(recipe, "run");
  env_opts_ = read_env_section(recipe);
  data_opts_ = core::read_options<DatasetOptions>(recipe, "dataset");
  {
    core::Binder b = core::Binder::reader(recipe, "offline");
    off_.bind(b);
    b.finish();
    recipe.mark_used("offline");
  }
  core::require(!data_opts_.path.empty(), recipe.origin("dataset.path") + ": " + algorithm +
                                              " needs dataset.path, a D4RL-layout HDF5 file (docs/datasets.md)");

  torch::set_num_threads(run_.torch_threads);
  torch::manual_seed(static_cast<uint64_t>(run_.seed));
  rng_.reseed(static_cast<uint64_t>(run_.seed));

  // The environment only for its spec here (evaluation makes its own).
  const env::Spec spec = env_opts_.make(1)->spec();
  const env::Space& action = spec.action;
  core::require(!action.is_discrete(), recipe.origin("env.name") + ": " + algorithm +
                                           " needs a continuous (Box) action space; " + env_opts_.name +
                                           "'s actions are discrete");
  for (int64_t i = 0; i < action.dim; ++i) {
    core::require(std::isfinite(action.low[static_cast<size_t>(i)]) && std::isfinite(action.high[static_cast<size_t>(i)]),
                  recipe.origin("env.name") + ": " + algorithm + " needs a bounded action box; " + env_opts_.name +
                      "'s action component " + std::to_string(i) + " is unbounded");
  }
  low_ = action.low;
  high_ = action.high;

  D4rlDataset d = read_d4rl(data_opts_.path);
  check_matches(d, spec, recipe.origin("dataset.path") + ": dataset '" + data_opts_.path + "'");
  obs_dim_ = d.obs_dim;
  act_dim_ = d.act_dim;

  num_updates_ = run_.total_steps / off_.gradient_steps;
  core::require(num_updates_ >= 1, recipe.origin("run.total_steps") + ": run.total_steps = " +
                                       std::to_string(run_.total_steps) +
                                       " (gradient steps) is less than one update (offline.gradient_steps = " +
                                       std::to_string(off_.gradient_steps) + ")");

  if (off_.online_steps > 0) {
    core::require(off_.online_steps % off_.gradient_steps == 0,
                  recipe.origin("offline.online_steps") + ": offline.online_steps = " + std::to_string(off_.online_steps) +
                      " must be a multiple of offline.gradient_steps = " + std::to_string(off_.gradient_steps) +
                      " (one online loop update = offline.gradient_steps env steps)");
    num_online_updates_ = off_.online_steps / off_.gradient_steps;
  }

  {  // fingerprint of the file's contents, before any preprocessing
    int64_t bytes = 0;
    uint32_t crc = tensors_crc32({torch::from_blob(d.actions.data(), {static_cast<int64_t>(d.actions.size())}, torch::kFloat32),
                                  torch::from_blob(d.rewards.data(), {d.size()}, torch::kFloat32)},
                                 0, &bytes);
    fingerprint_ = {d.size(), d.obs_dim, d.act_dim, static_cast<int64_t>(crc)};
  }

  obs_mean_.assign(static_cast<size_t>(obs_dim_), 0.f);
  obs_std_.assign(static_cast<size_t>(obs_dim_), 1.f);
  if (off_.normalize_observations) {
    const ObsStats s = observation_stats(d.observations, obs_dim_, 1e-3);
    for (size_t k = 0; k < obs_mean_.size(); ++k) {
      obs_mean_[k] = static_cast<float>(s.mean[k]);
      obs_std_[k] = static_cast<float>(s.std[k]);
    }
    for (std::vector<float>* v : {&d.observations, &d.next_observations}) {
      for (size_t i = 0; i < v->size(); ++i) {
        const size_t k = i % obs_mean_.size();
        (*v)[i] = ((*v)[i] - obs_mean_[k]) / obs_std_[k];
      }
    }
  }
  if (off_.normalize_rewards) {
    std::vector<double> returns;
    for (const Episode& e : split_episodes(d)) returns.push_back(e.ret);
    const double scale = iql_reward_scale(returns);
    reward_scale_ = static_cast<float>(scale);
    for (float& r : d.rewards) r = static_cast<float>(r * scale);
  }

  offpolicy::ReplayOptions one_step;  // n_step 1, uniform
  data_ = std::make_unique<offpolicy::ReplayBuffer>(d.size(), /*num_envs=*/1, obs_dim_, act_dim_, off_.gamma, one_step);
  for (int64_t i = 0; i < d.size(); ++i) {
    const auto o = static_cast<size_t>(i * obs_dim_), a = static_cast<size_t>(i * act_dim_), j = static_cast<size_t>(i);
    data_->add(d.observations.data() + o, d.actions.data() + a, d.rewards.data() + j, d.next_observations.data() + o,
               d.terminals.data() + j, d.timeouts.data() + j);
  }

  if (num_online_updates_ > 0) {
    env_ = env_opts_.make(1);
    env_->reset(static_cast<uint64_t>(run_.seed));
    online_ = std::make_unique<offpolicy::ReplayBuffer>(off_.online_steps, /*num_envs=*/1, obs_dim_, act_dim_, off_.gamma,
                                                        one_step);
    obs_.resize(static_cast<size_t>(obs_dim_));
    next_obs_.resize(static_cast<size_t>(obs_dim_));
    action_.resize(static_cast<size_t>(act_dim_));
  }

  const std::string ref_path = off_.reference_returns.empty() ? default_reference_returns_path() : off_.reference_returns;
  const auto refs = read_reference_returns(ref_path);
  if (auto it = refs.find(env_opts_.name); it != refs.end()) {
    have_reference_ = true;
    ref_random_ = it->second.random;
    ref_expert_ = it->second.expert;
  }
}

void OfflineRun::start(const core::Recipe& recipe, const toml::table& own) {
  core::require(off_.online_steps == 0 || can_explore(),
                recipe.origin("offline.online_steps") + ": offline.online_steps = " + std::to_string(off_.online_steps) +
                    " asks for an online phase, which " + recipe.get_string("run", "algorithm", "this trainer") +
                    " does not have (offline-to-online: iql, famo2o, expo, td3_bc, prdc, a2pr, cql, odice)");
  toml::table out;
  core::write_options(run_, &out, "run");
  core::write_options(env_opts_, &out, "env");
  core::write_options(data_opts_, &out, "dataset");
  core::write_options(off_, &out, "offline");
  for (const auto& [k, v] : own) {
    if (const toml::table* t = v.as_table()) out.insert(k, *t);
  }
  std::ostringstream s;
  s << "# Resolved recipe (every option, defaults filled in), from " << recipe.source() << "\n"
    << core::to_toml_text(out) << "\n";
  finish_setup(s.str());
}

void OfflineRun::declare_metrics(const std::vector<const char*>& names) {
  means_.clear();
  for (const char* n : names) means_.push_back({n});
}

void OfflineRun::accumulate(const char* name, double value) {
  for (Mean& m : means_) {
    if (std::string_view(m.name) == name) {
      m.sum += value;
      m.count += 1;
      return;
    }
  }
  throw std::logic_error(std::string("OfflineRun::accumulate: undeclared metric ") + name);
}

torch::Tensor OfflineRun::action_scale() const {
  std::vector<float> s(low_.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = (high_[i] - low_[i]) / 2.f;
  return torch::tensor(s, torch::kFloat32);
}

torch::Tensor OfflineRun::action_bias() const {
  std::vector<float> s(low_.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = (high_[i] + low_[i]) / 2.f;
  return torch::tensor(s, torch::kFloat32);
}

torch::Tensor OfflineRun::action_low() const { return torch::tensor(low_, torch::kFloat32); }
torch::Tensor OfflineRun::action_high() const { return torch::tensor(high_, torch::kFloat32); }

torch::Tensor OfflineRun::normal_noise(int64_t n, int64_t a) {
  torch::Tensor t = torch::empty({n, a}, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < n * a; ++i) p[i] = static_cast<float>(rng_.normal());
  return t;
}

torch::Tensor OfflineRun::uniform_actions(int64_t n, int64_t a) {
  torch::Tensor t = torch::empty({n, a}, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < a; ++k)
      p[i * a + k] = static_cast<float>(rng_.uniform(low_[static_cast<size_t>(k)], high_[static_cast<size_t>(k)]));
  return t;
}

EvalResult OfflineRun::evaluate_policy(int episodes, uint64_t seed) {
  PolicyOnly policy([this](const float* obs, int64_t n, float* actions) {
    torch::NoGradGuard no_grad;
    const torch::Tensor o = torch::from_blob(const_cast<float*>(obs), {n, obs_dim_}, torch::kFloat32);
    const torch::Tensor a = act(o).contiguous();
    std::copy_n(a.data_ptr<float>(), n * act_dim_, actions);
  });
  return evaluate_control_policy(env_opts_, policy, episodes, seed, [this](const float* x, int64_t n, float* y) {
    for (int64_t i = 0; i < n * obs_dim_; ++i) {
      const auto k = static_cast<size_t>(i % obs_dim_);
      y[i] = (x[i] - obs_mean_[k]) / obs_std_[k];
    }
  });
}

EvalResult OfflineRun::evaluate(const EvalRequest& req) {
  EvalResult r = evaluate_policy(req.episodes, req.seed);
  if (have_reference_) r.extra.push_back({"score", normalized_score(r.mean_return, ref_random_, ref_expert_)});
  return r;
}

offpolicy::ReplaySample OfflineRun::sample_batch() {
  if (!online_ || online_->size() == 0) return data_->sample(off_.batch_size, rng_, /*beta=*/1.0);
  int64_t k = 0;  // online rows of the batch
  if (off_.offline_ratio >= 0) {
    k = off_.batch_size - static_cast<int64_t>(std::llround(off_.offline_ratio * static_cast<double>(off_.batch_size)));
  } else {
    // Uniform over the union: each of the B rows is an online one with probability
    // n_online / (n_data + n_online), then uniform inside its store.
    const auto n_data = static_cast<uint64_t>(data_->size()), n_all = n_data + static_cast<uint64_t>(online_->size());
    for (int64_t b = 0; b < off_.batch_size; ++b) k += rng_.below(n_all) >= n_data ? 1 : 0;
  }
  if (k == 0) return data_->sample(off_.batch_size, rng_, /*beta=*/1.0);
  if (k == off_.batch_size) return online_->sample(off_.batch_size, rng_, /*beta=*/1.0);
  const offpolicy::ReplaySample a = data_->sample(off_.batch_size - k, rng_, /*beta=*/1.0);
  const offpolicy::ReplaySample b = online_->sample(k, rng_, /*beta=*/1.0);
  offpolicy::ReplaySample out;
  out.obs = torch::cat({a.obs, b.obs});
  out.actions = torch::cat({a.actions, b.actions});
  out.returns = torch::cat({a.returns, b.returns});
  out.next_obs = torch::cat({a.next_obs, b.next_obs});
  out.discount = torch::cat({a.discount, b.discount});
  out.weights = torch::cat({a.weights, b.weights});
  return out;
}

void OfflineRun::online_env_step() {
  const float* raw = env_->obs();
  for (int64_t k = 0; k < obs_dim_; ++k) {
    const auto j = static_cast<size_t>(k);
    obs_[j] = (raw[k] - obs_mean_[j]) / obs_std_[j];
  }
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor o = torch::from_blob(obs_.data(), {1, obs_dim_}, torch::kFloat32);
    const torch::Tensor a = explore(o).contiguous();
    std::copy_n(a.data_ptr<float>(), act_dim_, action_.data());
  }
  env_->step(action_.data());
  const bool ended = env_->terminated()[0] || env_->truncated()[0];
  // the true next observation: final_obs where the episode ended (obs() is already the next one's first)
  const float* next = ended ? env_->final_obs() : env_->obs();
  for (int64_t k = 0; k < obs_dim_; ++k) {
    const auto j = static_cast<size_t>(k);
    next_obs_[j] = (next[k] - obs_mean_[j]) / obs_std_[j];
  }
  const float reward = env_->reward()[0] * reward_scale_;
  online_->add(obs_.data(), action_.data(), &reward, next_obs_.data(), env_->terminated(), env_->truncated());
  if (ended) {
    ep_ret_sum_ += env_->episode_return()[0];
    ep_count_ += 1;
    ++episodes_;
  }
  ++online_env_steps_;
  for (int g = 0; g < off_.updates_per_step; ++g) {
    train_step(sample_batch(), gradient_steps_done_);
    ++gradient_steps_done_;
  }
}

core::MetricRow OfflineRun::step() {
  const bool online = online_phase();
  if (online) {
    for (int s = 0; s < off_.gradient_steps; ++s) online_env_step();
  } else {
    for (int g = 0; g < off_.gradient_steps; ++g) {
      const offpolicy::ReplaySample batch = data_->sample(off_.batch_size, rng_, /*beta=*/1.0);
      train_step(batch, gradient_steps_done_);
      ++gradient_steps_done_;
    }
  }
  ++update_;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - call_start_).count();
  const double nan = std::nan("");
  core::MetricRow row = {
      {metric::kGradientSteps, static_cast<double>(gradient_steps_done_)},
      {metric::kStepsPerSecond, static_cast<double>(gradient_steps_done_ - call_start_steps_) / std::max(elapsed, 1e-9)},
  };
  for (Mean& m : means_) {
    row.push_back({m.name, m.count ? m.sum / static_cast<double>(m.count) : nan});
    m = Mean{m.name};
  }
  if (online) {
    row.push_back({metric::kOnlineEnvSteps, static_cast<double>(online_env_steps_)});
    row.push_back({train::metric::kEpisodicReturn, ep_count_ ? ep_ret_sum_ / static_cast<double>(ep_count_) : nan});
    row.push_back({train::metric::kEpisodes, static_cast<double>(episodes_)});
    ep_ret_sum_ = 0;
    ep_count_ = 0;
  }
  add_row_values(&row);
  if ((off_.eval_every > 0 && update_ % off_.eval_every == 0) || update_ == num_updates_ ||
      update_ == num_updates_ + num_online_updates_) {
    // TD3+BC's eval_policy: seed + 100, the same episodes at every evaluation.
    const EvalResult e = evaluate_policy(off_.eval_episodes, static_cast<uint64_t>(run_.seed) + 100);
    last_eval_ = e.mean_return;
    row.push_back({metric::kEvalReturn, e.mean_return});
    row.push_back({metric::kEvalReturnStd, e.std_return});
    row.push_back({metric::kEvalLength, e.mean_length});
    if (have_reference_) row.push_back({metric::kEvalScore, normalized_score(e.mean_return, ref_random_, ref_expert_)});
  }
  return row;
}

LoopPosition OfflineRun::position() const {
  // offline gradient steps, then online env steps (equal to gradient steps when there is no online phase)
  const int64_t offline_done = std::min(gradient_steps_done_, num_updates_ * off_.gradient_steps);
  return {update_, num_updates_ + num_online_updates_, offline_done + online_env_steps_,
          num_updates_ * off_.gradient_steps + off_.online_steps};
}

void OfflineRun::on_start(core::MetricsLogger&) {
  call_start_ = std::chrono::steady_clock::now();
  call_start_steps_ = gradient_steps_done_;
}

std::optional<double> OfflineRun::progress_value() const {
  return std::isnan(last_eval_) ? std::nullopt : std::optional<double>(last_eval_);
}

void OfflineRun::save_state(CheckpointWriter& w) {
  w.put_ints("counters", {update_, gradient_steps_done_});
  w.put_ints("dataset", fingerprint_);
  w.put_floats("obs_mean", obs_mean_);
  w.put_floats("obs_std", obs_std_);
  w.put_doubles("last_eval", {last_eval_});
  w.put_rng("rng", rng_);
  if (online_) {
    w.put_ints("online_counters", {online_env_steps_, episodes_});
    w.put_env("env", *env_);
    online_->save(w, "online_replay");
  }
  save_model(w);
}

void OfflineRun::load_state(CheckpointReader& r, bool full) {
  const auto fp = r.get_ints("dataset", fingerprint_.size());
  core::require(fp == fingerprint_, "checkpoint '" + r.path() + "' was written with another dataset than '" +
                                        data_opts_.path + "' (rows, widths or the CRC-32 of actions and rewards differ)");
  obs_mean_ = r.get_floats("obs_mean", static_cast<size_t>(obs_dim_));
  obs_std_ = r.get_floats("obs_std", static_cast<size_t>(obs_dim_));
  load_model(r);
  if (!full) return;
  const auto c = r.get_ints("counters", 2);
  update_ = c[0];
  gradient_steps_done_ = c[1];
  last_eval_ = r.get_doubles("last_eval", 1)[0];
  r.get_rng("rng", &rng_);
  if (online_) {
    const auto o = r.get_ints("online_counters", 2);
    online_env_steps_ = o[0];
    episodes_ = o[1];
    r.get_env("env", env_.get());
    online_->load(r, "online_replay");
  }
}

void OfflineRun::save_module(CheckpointWriter& w, const std::string& key, torch::nn::Module& m) { m.save(w.child(key)); }

void OfflineRun::load_module(CheckpointReader& r, const std::string& key, torch::nn::Module& m) { m.load(r.child(key)); }

void OfflineRun::save_optimizer(CheckpointWriter& w, const std::string& key, torch::optim::Optimizer& o) {
  o.save(w.child(key));
}

void OfflineRun::load_optimizer(CheckpointReader& r, const std::string& key, torch::optim::Optimizer& o) {
  o.load(r.child(key));
}

}  // namespace rlpp::train::offline

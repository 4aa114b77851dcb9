#include "rlpp/train/control_run.h"

#include <torch/torch.h>

#include <cmath>
#include <numeric>
#include <sstream>
#include <tuple>

#include "rlpp/algo/advantages/gae.h"
#include "rlpp/algo/build_named.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"
#include "rlpp/core/zip_check.h"
#include "rlpp/dist/comm.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/train/control_eval.h"
#include "rlpp/train/metric_names.h"

namespace rlpp::train {

void PpoOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("num_steps", num_steps, "rollout length per environment copy", Bounds::closed(1, 1 << 20));
  b.num("learning_rate", learning_rate, "Adam learning rate", Bounds::positive());
  b.flag("anneal_lr", anneal_lr, "decay the learning rate linearly to 0");
  b.num("gamma", gamma, "discount factor (of the reward normaliser, and of gae when [advantage] is absent)",
        Bounds::unit());
  b.num("gae_lambda", gae_lambda, "GAE lambda (when [advantage] is absent)", Bounds::unit());
  b.integer("num_minibatches", num_minibatches, "minibatches per epoch", Bounds::closed(1, 1 << 20));
  b.integer("update_epochs", update_epochs, "epochs over each rollout", Bounds::closed(1, 1000));
  b.flag("norm_adv", norm_adv, "normalise advantages per minibatch");
  b.num("clip_coef", clip_coef, "PPO ratio clip epsilon (and the value-loss clip)", Bounds::closed(0, 10));
  b.flag("clip_vloss", clip_vloss, "clip the value loss around the old values");
  b.num("ent_coef", ent_coef, "entropy bonus coefficient", Bounds::non_negative());
  b.num("vf_coef", vf_coef, "value loss coefficient", Bounds::non_negative());
  b.num("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  b.num("target_kl", target_kl, "stop the epochs when approx_kl exceeds this (0 = off)", Bounds::non_negative());
  b.num("adam_eps", adam_eps, "Adam epsilon", Bounds::positive());
  b.flag("bootstrap_truncated", bootstrap_truncated,
         "bootstrap V(final_obs) on truncation (when [advantage] is absent)");
  b.flag("normalize_obs", normalize_obs, "running mean/std observation normalisation");
  b.flag("normalize_reward", normalize_reward, "scale rewards by the running std of the discounted return");
  b.num("obs_clip", obs_clip, "clip of normalised observations", Bounds::positive());
  b.num("reward_clip", reward_clip, "clip of scaled rewards", Bounds::positive());
}

namespace {

// The estimator's option bootstrap_truncated, read back from its resolved section.
bool section_flag(const toml::table& t, const char* key) {
  const toml::node* n = t.get(key);
  return n && n->value_or(false);
}

}  // namespace

ControlRun::ControlRun(const core::Recipe& recipe, const RunContext& ctx) : LoopTrainer(ctx) {
  run_ = core::read_options<RunOptions>(recipe, "run");
  env_opts_ = read_env_section(recipe);
  ppo_ = core::read_options<PpoOptions>(recipe, "ppo");
  policy_ = core::read_options<nn::MlpPolicyOptions>(recipe, "policy");

  // Advantages: the registry's estimator; gae at ppo's settings when the recipe names none.
  if (recipe.has_section("advantage")) {
    toml::table resolved;
    advantage_ = algo::build_named(algo::advantage_registry(), recipe, "advantage", "gae", &resolved);
    advantage_section_ = *resolved["advantage"].as_table();
    bootstrap_truncated_ = section_flag(advantage_section_, "bootstrap_truncated");
  } else {
    algo::GaeOptions go;
    go.gamma = ppo_.gamma;
    go.lambda = ppo_.gae_lambda;
    go.bootstrap_truncated = ppo_.bootstrap_truncated;
    advantage_ = std::make_unique<algo::FunctionAdvantage<algo::GaeOptions, algo::gae>>(go);
    bootstrap_truncated_ = ppo_.bootstrap_truncated;
  }
  // The objective: PPO's clip at ppo.clip_coef (both backends) unless the recipe names one.
  if (recipe.has_section("objective")) {
    toml::table resolved;
    objective_ = algo::build_named(algo::objective_registry(), recipe, "objective", "ppo_clip", &resolved);
    objective_section_ = *resolved["objective"].as_table();
  }

  T_ = ppo_.num_steps;
  N_ = env_opts_.num_envs;
  const int64_t n = T_ * N_;
  core::require(n % ppo_.num_minibatches == 0,
                recipe.origin("ppo.num_minibatches") + ": ppo.num_minibatches = " + std::to_string(ppo_.num_minibatches) +
                    " must divide num_steps * num_envs = " + std::to_string(n));
  // run.total_steps counts the steps of every rank (each steps num_envs copies)
  num_updates_ = run_.total_steps / (n * world_size());
  core::require(num_updates_ >= 1, recipe.origin("run.total_steps") + ": run.total_steps = " +
                                       std::to_string(run_.total_steps) + " is less than one rollout (" +
                                       std::to_string(n * world_size()) + " steps" +
                                       (world_size() > 1 ? " over " + std::to_string(world_size()) + " ranks)" : ")"));

  torch::set_num_threads(run_.torch_threads);
  torch::manual_seed(static_cast<uint64_t>(run_.seed));  // the same initial weights on every rank
  rng_.reseed(static_cast<uint64_t>(run_.seed) + kRankSeedStride * static_cast<uint64_t>(rank()));
  envs_ = env_opts_.make();
  const env::Spec& spec = envs_->spec();
  N_ = envs_->num_envs();
  obs_dim_ = envs_->obs_dim();
  act_flat_ = envs_->act_dim();
  lc_.obs_dim = obs_dim_;
  lc_.discrete = spec.action.is_discrete();
  lc_.act_dim = lc_.discrete ? spec.action.n : spec.action.dim;
  lc_.policy = policy_;
  lc_.adam_eps = ppo_.adam_eps;
  learner_ = make_actor_critic_learner(lc_);
  core::require(!objective_ || learner_->accepts_objectives(),
                recipe.origin("objective") + ": [objective] needs policy.backend = \"torch\" (the \"" + policy_.backend +
                    "\" backend implements PPO's clip at ppo.clip_coef only, which is what a recipe without [objective] "
                    "trains)");
  if (ppo_.normalize_obs) {
    obs_norm_ = std::make_unique<ObsNormalizer>(obs_dim_, ppo_.obs_clip);
    obs_norm_->stats().set_comm(comm());
  }
  if (ppo_.normalize_reward) {
    reward_scaler_ = std::make_unique<RewardScaler>(N_, ppo_.gamma, ppo_.reward_clip);
    reward_scaler_->stats().set_comm(comm());
  }
  done_.resize(static_cast<size_t>(N_));
  if (recipe.has_section("record")) {
    core::require(world_size() == 1, recipe.origin("record") + ": [record] records a single-process run only");
    const auto ro = core::read_options<offline::RecordOptions>(recipe, "record");
    offline::DatasetMetadata meta;
    meta.env_name = spec.id;
    meta.policy = run_.algorithm + " run, every rollout from the start (rlpp medium-replay)";
    meta.seed = run_.seed;
    recorder_ = std::make_unique<offline::RolloutRecorder>(ro, *envs_, env_opts_.clip_action, meta);
    toml::table t;
    core::write_options(ro, &t, "record");
    record_section_ = *t["record"].as_table();
  }
}

void ControlRun::step_envs(const float* actions) {
  if (recorder_) recorder_->before_step(envs_->obs(), actions);
  envs_->step(actions);
  if (recorder_) recorder_->after_step(*envs_);
}

void ControlRun::on_finish() {
  if (recorder_) recorder_->finish();
}

std::string ControlRun::resolve(const core::Recipe& recipe, const toml::table& own) const {
  toml::table out;
  core::write_options(run_, &out, "run");
  core::write_options(env_opts_, &out, "env");
  core::write_options(ppo_, &out, "ppo");
  core::write_options(policy_, &out, "policy");
  if (!advantage_section_.empty()) out.insert("advantage", advantage_section_);
  if (!objective_section_.empty()) out.insert("objective", objective_section_);
  if (!record_section_.empty()) out.insert("record", record_section_);
  for (const auto& [k, v] : own) {
    if (const toml::table* t = v.as_table()) out.insert(k, *t);
  }
  std::ostringstream s;
  s << "# Resolved recipe (every option, defaults filled in), from " << recipe.source() << "\n"
    << core::to_toml_text(out) << "\n";
  return s.str();
}

double ControlRun::learning_rate() const {
  const double frac = 1.0 - static_cast<double>(update_) / static_cast<double>(num_updates_);
  return ppo_.anneal_lr ? frac * ppo_.learning_rate : ppo_.learning_rate;
}

void ControlRun::normalize(const float* raw, int64_t n, float* y) const {
  if (obs_norm_) {
    obs_norm_->normalize(raw, n, /*update=*/false, y);
  } else {
    std::copy(raw, raw + n * obs_dim_, y);
  }
}

void ControlRun::record_step(float* rewards, float* terminated, float* truncated, EpisodeSums* eps) {
  for (int64_t i = 0; i < N_; ++i) {
    const bool term = envs_->terminated()[i], trunc = envs_->truncated()[i];
    terminated[i] = term ? 1.f : 0.f;
    truncated[i] = trunc ? 1.f : 0.f;
    done_[static_cast<size_t>(i)] = term || trunc;
    if (!done_[static_cast<size_t>(i)]) continue;
    const double r = envs_->episode_return()[i];
    eps->ret += r;
    eps->len += envs_->episode_length()[i];
    eps->count += 1;
    ended_returns_.push_back(r);
  }
  if (reward_scaler_) reward_scaler_->scale(rewards, done_.data());
}

void ControlRun::sync_normalizers() {
  if (obs_norm_) obs_norm_->stats().sync();
  if (reward_scaler_) reward_scaler_->stats().sync();
}

algo::AdvantageOutput ControlRun::advantages(const torch::Tensor& rewards, const torch::Tensor& values,
                                             const torch::Tensor& terminated, const torch::Tensor& truncated,
                                             const torch::Tensor& next_value, const torch::Tensor& final_values) {
  algo::AdvantageInput in;
  in.rewards = rewards;
  in.values = values;
  in.terminated = terminated;
  in.truncated = truncated;
  in.next_value = next_value;
  if (bootstrap_truncated_) in.final_values = final_values;
  algo::AdvantageOutput out = advantage_->compute(in);
  // Estimators without a critic (mc without values) return no returns: the critic then regresses
  // on advantages + values, which is what gae's returns are.
  if (!out.returns.defined()) out.returns = out.advantages + values;
  return out;
}

ControlUpdateSummary ControlRun::minibatch_update(const ControlBatch& batch, double lr) {
  PpoLossOptions lo;
  lo.clip_coef = ppo_.clip_coef;
  lo.clip_vloss = ppo_.clip_vloss;
  lo.ent_coef = ppo_.ent_coef;
  lo.vf_coef = ppo_.vf_coef;
  lo.max_grad_norm = ppo_.max_grad_norm;
  lo.norm_adv = ppo_.norm_adv;
  lo.objective = objective_.get();
  lo.comm = comm();

  const int64_t B = batch.rows;
  const int64_t mb = B / ppo_.num_minibatches;
  std::vector<int64_t> idx(static_cast<size_t>(B));
  std::iota(idx.begin(), idx.end(), 0);
  mb_obs_.resize(static_cast<size_t>(mb * obs_dim_));
  mb_act_.resize(static_cast<size_t>(mb * act_flat_));
  mb_logp_.resize(static_cast<size_t>(mb));
  mb_adv_.resize(static_cast<size_t>(mb));
  mb_ret_.resize(static_cast<size_t>(mb));
  mb_val_.resize(static_cast<size_t>(mb));
  ControlUpdateSummary s;
  double clipfrac = 0;
  int64_t count = 0;
  for (int epoch = 0; epoch < ppo_.update_epochs; ++epoch) {
    rng_.shuffle(idx.data(), B);
    // data-parallel: every minibatch's whitening over every rank's share, one collective an epoch
    std::vector<std::pair<double, double>> whitening;
    if (comm() && ppo_.norm_adv) whitening = global_whitening(batch.advantages, idx, mb);
    for (int64_t start = 0; start + mb <= B; start += mb) {
      if (!whitening.empty()) std::tie(lo.adv_mean, lo.adv_std) = whitening[static_cast<size_t>(start / mb)];
      for (int64_t k = 0; k < mb; ++k) {
        const int64_t j = idx[static_cast<size_t>(start + k)];
        std::copy_n(batch.obs + j * obs_dim_, obs_dim_, mb_obs_.data() + k * obs_dim_);
        std::copy_n(batch.actions + j * act_flat_, act_flat_, mb_act_.data() + k * act_flat_);
        mb_logp_[static_cast<size_t>(k)] = batch.logp_old[j];
        mb_adv_[static_cast<size_t>(k)] = batch.advantages[j];
        mb_ret_[static_cast<size_t>(k)] = batch.returns[j];
        mb_val_[static_cast<size_t>(k)] = batch.values[j];
      }
      const ControlMinibatch m{mb, mb_obs_.data(), mb_act_.data(), mb_logp_.data(), mb_adv_.data(), mb_ret_.data(),
                               mb_val_.data()};
      s.last = learner_->update(m, lo, lr);
      clipfrac += s.last.clipfrac;
      ++count;
    }
    s.epochs = epoch + 1;
    // data-parallel: the last minibatch's statistics over every rank's share (one collective an
    // epoch), so the target-KL stop is the same decision on every rank
    if (comm()) average_over_ranks(&s.last, &clipfrac);
    if (ppo_.target_kl > 0 && s.last.approx_kl > ppo_.target_kl) break;
  }
  s.clipfrac = clipfrac / static_cast<double>(std::max<int64_t>(count, 1));
  s.explained_variance = explained_variance(batch.values, batch.returns, B);
  return s;
}

std::vector<std::pair<double, double>> ControlRun::global_whitening(const float* adv, const std::vector<int64_t>& idx,
                                                                    int64_t mb) {
  const int64_t k = static_cast<int64_t>(idx.size()) / mb;
  std::vector<double> sums(static_cast<size_t>(3 * k), 0.0);  // (K, 3): Σa, Σa², n of this rank's rows
  for (int64_t g = 0; g < k; ++g) {
    for (int64_t i = g * mb; i < (g + 1) * mb; ++i) {
      const double a = adv[idx[static_cast<size_t>(i)]];
      sums[3 * g] += a;
      sums[3 * g + 1] += a * a;
    }
    sums[3 * g + 2] = static_cast<double>(mb);
  }
  return dist::group_mean_std(*comm(), std::move(sums));
}

void ControlRun::average_over_ranks(UpdateStats* u, double* clipfrac_sum) {
  double v[] = {u->policy_loss, u->value_loss, u->entropy,   u->old_approx_kl,
                u->approx_kl,   u->clipfrac,   u->grad_norm, *clipfrac_sum};
  comm()->allreduce_sum(v, 8);
  for (double& x : v) x /= world_size();
  *u = UpdateStats{v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
  *clipfrac_sum = v[7];
}

double ControlRun::explained_variance(const float* values, const float* returns, int64_t n) {
  if (!comm()) {
    return algo::explained_variance(torch::from_blob(const_cast<float*>(values), {n}),
                                    torch::from_blob(const_cast<float*>(returns), {n}));
  }
  // 1 − Var(y − ŷ) / Var(y) over the rows of every rank, from their sums (population variances)
  double sums[5] = {static_cast<double>(n), 0, 0, 0, 0};  // n, Σy, Σy², Σr, Σr² with r = y − ŷ
  for (int64_t i = 0; i < n; ++i) {
    const double y = returns[i], r = y - static_cast<double>(values[i]);
    sums[1] += y;
    sums[2] += y * y;
    sums[3] += r;
    sums[4] += r * r;
  }
  comm()->allreduce_sum(sums, 5);
  const double var_y = sums[2] / sums[0] - (sums[1] / sums[0]) * (sums[1] / sums[0]);
  const double var_r = sums[4] / sums[0] - (sums[3] / sums[0]) * (sums[3] / sums[0]);
  return var_y > 0 ? 1.0 - var_r / var_y : std::nan("");
}

void ControlRun::gather_episodes(EpisodeSums* eps) {
  if (comm()) {
    // Every rank's episodes of this update, in rank order: each rank's count, then the returns
    // placed at their offsets (the sums give everyone all of them).
    std::vector<double> counts(static_cast<size_t>(world_size()), 0.0);
    counts[static_cast<size_t>(rank())] = static_cast<double>(ended_returns_.size());
    comm()->allreduce_sum(counts.data(), world_size());
    int64_t total = 0, offset = 0;
    for (int r = 0; r < world_size(); ++r) {
      if (r == rank()) offset = total;
      total += static_cast<int64_t>(counts[static_cast<size_t>(r)]);
    }
    std::vector<double> all(static_cast<size_t>(total) + 2, 0.0);  // returns, then Σ length and Σ return
    std::copy(ended_returns_.begin(), ended_returns_.end(), all.begin() + offset);
    all[static_cast<size_t>(total)] = eps->len;
    all[static_cast<size_t>(total) + 1] = eps->ret;
    comm()->allreduce_sum(all.data(), total + 2);
    eps->len = all[static_cast<size_t>(total)];
    eps->ret = all[static_cast<size_t>(total) + 1];
    eps->count = static_cast<int>(total);
    ended_returns_.assign(all.begin(), all.begin() + total);
  }
  for (double r : ended_returns_) recent_.push(r);
  episodes_ += static_cast<int64_t>(ended_returns_.size());
  ended_returns_.clear();
}

core::MetricRow ControlRun::control_row(double lr, EpisodeSums eps, const ControlUpdateSummary& u) {
  gather_episodes(&eps);
  core::MetricRow row = control_row_values(lr, eps, u);
  add_comm_share(&row);
  return row;
}

core::MetricRow ControlRun::control_row_values(double lr, const EpisodeSums& eps, const ControlUpdateSummary& u) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - call_start_).count();
  const double sps = static_cast<double>(global_step_ - call_start_step_) / std::max(elapsed, 1e-9);
  const double nan = std::nan("");
  return {
      {metric::kLearningRate, lr},
      {metric::kEpisodicReturn, eps.count ? eps.ret / eps.count : nan},
      {metric::kEpisodicLength, eps.count ? eps.len / eps.count : nan},
      {metric::kEpisodes, static_cast<double>(episodes_)},
      {metric::kReturnMean100, recent_.mean()},
      {metric::kSps, sps},
      {metric::kValueLoss, u.last.value_loss},
      {metric::kPolicyLoss, u.last.policy_loss},
      {metric::kEntropy, u.last.entropy},
      {metric::kOldApproxKl, u.last.old_approx_kl},
      {metric::kApproxKl, u.last.approx_kl},
      {metric::kClipFrac, u.clipfrac},
      {metric::kExplainedVariance, u.explained_variance},
      {metric::kGradNorm, u.last.grad_norm},
      {metric::kEpochs, static_cast<double>(u.epochs)},
  };
}

void ControlRun::add_comm_share(core::MetricRow* row) {
  if (!comm()) return;
  const auto now = std::chrono::steady_clock::now();
  const double busy = comm()->busy_seconds();
  const double wall = std::chrono::duration<double>(now - last_row_time_).count();
  row->push_back({metric::kCommShare, (busy - last_row_busy_) / std::max(wall, 1e-9)});
  last_row_time_ = now;
  last_row_busy_ = busy;
}

void ControlRun::save_state(CheckpointWriter& w) {
  w.put_ints("counters", {global_step_, update_, episodes_});
  recent_.save(w, "recent_returns");
  if (obs_norm_) w.put_rms("obs_norm", obs_norm_->stats());
  learner_->save(w.child("learner"));
}

void ControlRun::load_state(CheckpointReader& r, bool full) {
  learner_->load(r.child("learner"));
  if (obs_norm_) r.get_rms("obs_norm", &obs_norm_->stats());
  if (!full) return;
  const auto counters = r.get_ints("counters", 3);
  global_step_ = counters[0];
  update_ = counters[1];
  episodes_ = counters[2];
  recent_.load(r, "recent_returns");
}

void ControlRun::save_rank_state(CheckpointWriter& w) {
  w.put_rng("rng", rng_);
  w.put_env("env", *envs_);
  if (reward_scaler_) w.put_reward_scaler("reward_norm", *reward_scaler_);  // this rank's running returns
  if (recorder_) recorder_->save(w);
}

void ControlRun::load_rank_state(CheckpointReader& r) {
  r.get_rng("rng", &rng_);
  r.get_env("env", envs_.get());
  if (reward_scaler_) r.get_reward_scaler("reward_norm", reward_scaler_.get());
  if (recorder_) recorder_->load(r);
}

std::string ControlRun::replica_fingerprint() {
  int64_t bytes = 0;
  uint32_t crc = tensors_crc32(learner_->weights(), 0, &bytes);
  if (obs_norm_) {
    for (const auto* v : {&obs_norm_->stats().mean(), &obs_norm_->stats().var()}) {
      crc = core::crc32(std::string_view(reinterpret_cast<const char*>(v->data()), v->size() * sizeof(double)), crc);
    }
  }
  return "crc32 " + std::to_string(crc) + " of " + std::to_string(bytes) + " weight bytes";
}

LoopPosition ControlRun::position() const {
  return {update_, num_updates_, global_step_, num_updates_ * T_ * N_ * world_size()};
}

void ControlRun::on_start(core::MetricsLogger&) {
  call_start_ = std::chrono::steady_clock::now();
  last_row_time_ = call_start_;
  last_row_busy_ = comm() ? comm()->busy_seconds() : 0.0;
  call_start_step_ = global_step_;
}

std::optional<double> ControlRun::progress_value() const {
  return recent_.count() ? std::optional<double>(recent_.mean()) : std::nullopt;
}

EvalResult ControlRun::evaluate(const EvalRequest& req) {
  return evaluate_control_policy(env_opts_, *learner_, req.episodes, req.seed,
                                 [this](const float* x, int64_t n, float* y) { normalize(x, n, y); });
}

}  // namespace rlpp::train

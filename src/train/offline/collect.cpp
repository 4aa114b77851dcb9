#include "rlpp/train/offline/collect.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/core/progress.h"
#include "rlpp/core/rng.h"
#include "rlpp/env/registry.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/control_run.h"

namespace fs = std::filesystem;

namespace rlpp::train::offline {
namespace {

// The policy of a ppo or props run: ControlRun's environments section, learner and observation
// statistics, built from the run's recipe, with the learner and statistics loaded from a
// checkpoint (what every control trainer saves first; the algorithm's own state is not needed to
// act). It never trains.
class RunPolicy : public ControlRun {
 public:
  RunPolicy(const core::Recipe& recipe, const RunContext& ctx, const std::string& checkpoint)
      : ControlRun(recipe, ctx) {
    CheckpointReader r(checkpoint);
    ControlRun::load_state(r, /*full=*/false);
  }
  const EnvSection& env_section() const { return env_opts_; }
  // raw (1, obs_dim) -> action (1, act_flat)
  void act(const float* raw, core::Rng& rng, bool deterministic, float* action) {
    norm_.resize(static_cast<size_t>(obs_dim_));
    normalize(raw, 1, norm_.data());
    float logp = 0, value = 0;
    learner_->act(norm_.data(), 1, rng, deterministic, action, &logp, &value);
  }

 private:
  int64_t checkpoint_version() const override { return 0; }
  core::MetricRow step() override { throw core::UserError("a dataset policy does not train"); }
  std::vector<float> norm_;
};

struct LoadedRun {
  std::unique_ptr<RunPolicy> policy;
  std::string description;
};

LoadedRun load_run_policy(const std::string& target) {
  std::error_code ec;
  std::string run_dir, checkpoint;
  if (fs::is_directory(target, ec)) {
    run_dir = target;
    checkpoint = latest_checkpoint(run_dir);
    core::require(!checkpoint.empty(), "--policy: run directory '" + target + "' has no checkpoint yet");
  } else {
    core::require(fs::is_regular_file(target, ec), "--policy: '" + target +
                                                       "' is neither 'random', a run directory nor a checkpoint file");
    checkpoint = target;
    run_dir = fs::path(target).parent_path().parent_path().string();  // RUN_DIR/checkpoints/x.pt
    if (run_dir.empty()) run_dir = ".";
  }
  const std::string recipe_path = (fs::path(run_dir) / "recipe.toml").string();
  core::require(fs::exists(recipe_path, ec),
                "--policy: cannot find the recipe of '" + checkpoint + "' (expected " + recipe_path + ")");
  const core::Recipe recipe = core::Recipe::load(recipe_path);
  const std::string algorithm = recipe.get_string("run", "algorithm", "ppo");
  core::require(algorithm == "ppo" || algorithm == "props",
                "--policy: '" + target + "' is a " + algorithm +
                    " run; dataset collection reads the policy of a ppo or props run");
  RunContext ctx;
  ctx.run_dir = run_dir;
  ctx.quiet = true;
  LoadedRun out;
  out.policy = std::make_unique<RunPolicy>(recipe, ctx, checkpoint);
  out.description = algorithm + " run " + run_dir + ", checkpoint " + fs::path(checkpoint).filename().string();
  return out;
}

// Uniform over the action space (Box: over [low, high]; unbounded components are refused).
void random_action(const env::Space& a, core::Rng& rng, float* out) {
  if (a.is_discrete()) {
    out[0] = static_cast<float>(rng.below(static_cast<uint64_t>(a.n)));
    return;
  }
  for (int64_t j = 0; j < a.dim; ++j) {
    out[j] = static_cast<float>(rng.uniform(a.low[static_cast<size_t>(j)], a.high[static_cast<size_t>(j)]));
  }
}

}  // namespace

D4rlDataset collect_dataset(const CollectRequest& req, const std::atomic<bool>& stop) {
  core::require(req.steps >= 1, "--steps must be at least 1, got " + std::to_string(req.steps));
  core::require(std::isfinite(req.noise) && req.noise >= 0, "--noise must be >= 0, got " + std::to_string(req.noise));
  const bool random = req.policy == "random";
  core::require(!(random && req.deterministic), "--deterministic applies to a run's policy, not to 'random'");
  LoadedRun run;
  std::unique_ptr<env::VecEnv> envs;
  if (random) {
    core::require(!req.env.empty(), "--env is required with --policy random (rlpp list envs)");
    env::VecEnvOptions o;
    o.num_envs = 1;
    envs = env::make(req.env, o);
  } else {
    run = load_run_policy(req.policy);
    const EnvSection& es = run.policy->env_section();
    core::require(req.env.empty() || req.env == es.name,
                  "--env " + req.env + " does not match the run's environment " + es.name);
    envs = es.make(/*num_envs_override=*/1);
  }
  const env::Spec& spec = envs->spec();
  const env::Space& a = spec.action;
  const bool discrete = a.is_discrete();
  const auto finite = [](float x) { return std::isfinite(x); };
  core::require(discrete || !random || (std::all_of(a.low.begin(), a.low.end(), finite) &&
                                        std::all_of(a.high.begin(), a.high.end(), finite)),
                spec.id + " has an unbounded action box: a uniform random policy is undefined");
  core::require(!discrete || req.noise <= 1.0, "--noise is the probability of a random action on " + spec.id +
                                                   " (discrete actions): at most 1, got " + std::to_string(req.noise));
  const int64_t obs_dim = envs->obs_dim(), act_dim = envs->act_dim();

  D4rlDataset d;
  d.obs_dim = obs_dim;
  d.act_dim = act_dim;
  d.meta.env_name = spec.id;
  d.meta.seed = static_cast<int64_t>(req.seed);
  d.meta.policy = random ? "random" : run.description + (req.deterministic ? ", deterministic" : ", sampled");
  if (req.noise > 0) d.meta.policy += ", noise " + std::to_string(req.noise);
  d.observations.reserve(static_cast<size_t>(req.steps * obs_dim));
  d.next_observations.reserve(static_cast<size_t>(req.steps * obs_dim));
  d.actions.reserve(static_cast<size_t>(req.steps * act_dim));

  core::Rng rng(req.seed);
  envs->reset(req.seed);
  std::vector<float> obs(envs->obs(), envs->obs() + obs_dim), act(static_cast<size_t>(act_dim));
  std::optional<core::Progress> progress;
  if (!req.quiet) progress.emplace(req.steps);
  std::optional<double> last_return;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t t = 0; t < req.steps && !stop.load(); ++t) {
    if (random) {
      random_action(a, rng, act.data());
    } else {
      run.policy->act(obs.data(), rng, req.deterministic, act.data());
    }
    if (discrete) {
      if (req.noise > 0 && rng.uniform() < req.noise) random_action(a, rng, act.data());
    } else {
      for (int64_t j = 0; j < act_dim; ++j) {
        float& x = act[static_cast<size_t>(j)];
        if (req.noise > 0) x += static_cast<float>(req.noise * rng.normal());
        x = std::clamp(x, a.low[static_cast<size_t>(j)], a.high[static_cast<size_t>(j)]);
      }
    }
    envs->step(act.data());
    const bool term = envs->terminated()[0] != 0, trunc = envs->truncated()[0] != 0;
    const float* next = (term || trunc) ? envs->final_obs() : envs->obs();
    // A step both terminal and at the time limit is a terminal (terminated wins, as for bootstrapping).
    d.push(obs.data(), act.data(), envs->reward()[0], next, term, trunc && !term);
    if (term || trunc) last_return = envs->episode_return()[0];
    std::copy(envs->obs(), envs->obs() + obs_dim, obs.begin());
    if (progress && ((t + 1) % 1000 == 0 || t + 1 == req.steps)) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress->update(t + 1, s > 0 ? static_cast<double>(t + 1) / s : 0.0, last_return);
    }
  }
  if (progress) progress->finish();
  return d;
}

}  // namespace rlpp::train::offline

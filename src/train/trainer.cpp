#include "rlpp/train/trainer.h"

#include "rlpp/train/lm/lm_trainer.h"
#include "rlpp/train/lm/rlvr_trainer.h"
#include "rlpp/train/offline/a2pr.h"
#include "rlpp/train/offline/bc.h"
#include "rlpp/train/offline/cql.h"
#include "rlpp/train/offline/expo.h"
#include "rlpp/train/offline/famo2o.h"
#include "rlpp/train/offline/iql.h"
#include "rlpp/train/offline/odice.h"
#include "rlpp/train/offline/prdc.h"
#include "rlpp/train/offline/td3_bc.h"
#include "rlpp/train/offpolicy/trainers.h"
#include "rlpp/train/hnpg.h"
#include "rlpp/train/ppo_trainer.h"
#include "rlpp/train/props_trainer.h"

namespace rlpp::train {

void RunOptions::bind(core::Binder& b) {
  b.text("algorithm", algorithm, "training algorithm (rlpp list algorithms)");
  b.integer("seed", seed, "seed of every generator (env copy i gets seed + i)", core::Bounds::non_negative());
  b.integer("total_steps", total_steps, "steps to train for: environment steps (ppo), optimizer steps (lm)", core::Bounds::closed(1, 1e15));
  b.integer("checkpoint_every", checkpoint_every, "updates between checkpoints (0 = at the end only)",
            core::Bounds::non_negative());
  b.integer("keep_checkpoints", keep_checkpoints, "newest checkpoints kept", core::Bounds::closed(1, 1000));
  b.integer("torch_threads", torch_threads, "LibTorch intra-op threads", core::Bounds::closed(1, 256));
  b.num("log_interval_s", log_interval_s, "seconds between progress lines when not on a terminal",
        core::Bounds::positive());
}

core::Registry<TrainerFactory>& algorithm_registry() {
  static core::Registry<TrainerFactory> reg = [] {
    core::Registry<TrainerFactory> r("algorithm");
    r.add("ppo", make_ppo_trainer, "PPO for control with CleanRL's details (discrete and continuous)");
    r.add("hnpg", make_hnpg_trainer, "hybrid NPG: on-policy natural gradient with a Q critic fit on the rollouts and a D4RL-layout dataset (Zhou et al. 2023, arXiv 2311.08384; docs/offline-seeds.md)");
    r.add("props", make_props_trainer, "PPO-buffer / PROPS behaviour-policy sampling (arXiv 2311.08290), with the sampling-error metric");
    r.add("lm", lm::make_lm_trainer, "language-model pre-training / SFT (next-token cross-entropy, AdamW, cosine)");
    r.add("sac", offpolicy::make_sac_trainer, "soft actor-critic for continuous control (CleanRL's details, alpha autotuned; docs/offpolicy.md)");
    r.add("td3", offpolicy::make_td3_trainer, "TD3 for continuous control (CleanRL's details; docs/offpolicy.md)");
    r.add("dqn", offpolicy::make_dqn_trainer, "(Double) DQN for discrete actions, epsilon-greedy (CleanRL's dqn.py; docs/offpolicy.md)");
    r.add("h2o", offpolicy::make_h2o_trainer, "H2O: SAC on real offline data plus a shifted simulator, dynamics-ratio-weighted (Niu et al. 2022; docs/offpolicy.md)");
    r.add("bc", offline::make_bc_trainer, "behaviour cloning from a D4RL-layout dataset (offline; docs/offline.md)");
    r.add("td3_bc", offline::make_td3_bc_trainer, "TD3+BC offline RL (Fujimoto & Gu 2021, alpha 2.5; docs/offline.md)");
    r.add("iql", offline::make_iql_trainer, "implicit Q-learning offline RL (Kostrikov et al. 2021, expectile 0.7, beta 3; docs/offline.md)");
    r.add("cql", offline::make_cql_trainer, "conservative Q-learning, CQL(H) on SAC (Kumar et al. 2020, alpha 5; docs/offline.md)");
    r.add("prdc", offline::make_prdc_trainer, "PRDC: TD3+BC regularised toward the nearest dataset point of (beta s, pi(s)) (Ran et al. 2023, alpha 2.5, beta 2; docs/offline-seeds.md)");
    r.add("a2pr", offline::make_a2pr_trainer, "A2PR: TD3+BC regularised toward the higher-advantage of the dataset action and a VAE's (Liu et al. 2024; docs/offline-seeds.md)");
    r.add("famo2o", offline::make_famo2o_trainer, "FamO2O on IQL: a universal policy over AWR coefficients and a per-state balance model, offline then online (Wang et al. 2023; docs/offline-seeds.md)");
    r.add("expo", offline::make_expo_trainer, "EXPO: a diffusion base policy trained by imitation, a Gaussian edit policy and on-the-fly selection of the best of their actions by Q, offline then online (Dong et al. 2025; docs/offline-seeds.md)");
    r.add("odice", offline::make_odice_trainer, "ODICE: DICE value with the orthogonal-gradient update, weighted BC (Mao et al. 2024, lambda 0.6, eta 1; docs/offline-seeds.md)");
    r.add("rlvr", lm::make_rlvr_trainer, "RL with verifiable rewards for language models (any advantage x objective)");
    return r;
  }();
  return reg;
}

std::unique_ptr<Trainer> make_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  const std::string algorithm = recipe.get_string("run", "algorithm", "ppo");
  try {
    return algorithm_registry().get(algorithm)(recipe, ctx);
  } catch (const core::UserError& e) {
    // Name where the algorithm came from when it was the unknown name.
    if (!algorithm_registry().contains(algorithm)) {
      throw core::UserError(recipe.origin("run.algorithm") + ": run.algorithm: " + e.what());
    }
    throw;
  }
}

}  // namespace rlpp::train

// The names of the metrics trainers log (metrics.jsonl, metrics.csv, TensorBoard): one spelling per
// quantity, shared by every trainer. Control names follow CleanRL's so that curves compare directly.
// A trainer's own quantities (props/*, rl/*, search/*, pg/*) stay in its file.
#pragma once

namespace rlpp::train::metric {

// ---- progress of the run ----
inline constexpr const char* kLearningRate = "charts/learning_rate";
inline constexpr const char* kEpisodicReturn = "charts/episodic_return";  // mean over the episodes that ended this update
inline constexpr const char* kEpisodicLength = "charts/episodic_length";
inline constexpr const char* kEpisodes = "charts/episodes";               // episodes ended since the start of the run
inline constexpr const char* kReturnMean100 = "charts/return_mean_100";   // mean of the last 100 episodic returns
inline constexpr const char* kSps = "charts/SPS";                         // environment steps per second
inline constexpr const char* kCommShare = "perf/comm_share";             // data-parallel: share of the update's time in collectives

// ---- the policy update (means over the update's minibatches / tokens) ----
inline constexpr const char* kPolicyLoss = "losses/policy_loss";
inline constexpr const char* kValueLoss = "losses/value_loss";
inline constexpr const char* kEntropy = "losses/entropy";
inline constexpr const char* kOldApproxKl = "losses/old_approx_kl";  // k1 = mean(−log r)
inline constexpr const char* kApproxKl = "losses/approx_kl";         // k3 = mean((r − 1) − log r)
inline constexpr const char* kClipFrac = "losses/clipfrac";
inline constexpr const char* kClipFracLow = "losses/clipfrac_low";
inline constexpr const char* kClipFracHigh = "losses/clipfrac_high";
inline constexpr const char* kKl = "losses/kl";                      // KL to the reference policy (a loss term)
inline constexpr const char* kKlCoef = "losses/kl_coef";             // its coefficient at the start of the update
inline constexpr const char* kExtraRolloutLoss = "losses/extra_rollout_loss";  // an entropy control's term on extra rollouts (AEPO)
inline constexpr const char* kExplainedVariance = "losses/explained_variance";
inline constexpr const char* kGradNorm = "losses/grad_norm";         // before clipping
inline constexpr const char* kEpochs = "losses/epochs";              // epochs run (target_kl may stop early)

}  // namespace rlpp::train::metric

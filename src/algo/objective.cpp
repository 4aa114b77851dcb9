#include "rlpp/algo/objective.h"

#include "rlpp/algo/objectives/bapo.h"
#include "rlpp/algo/objectives/cispo.h"
#include "rlpp/algo/objectives/cov.h"
#include "rlpp/algo/objectives/dapo.h"
#include "rlpp/algo/objectives/dro.h"
#include "rlpp/algo/objectives/gmpo.h"
#include "rlpp/algo/objectives/gppo.h"
#include "rlpp/algo/objectives/gspo.h"
#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/algo/objectives/lp_reg.h"
#include "rlpp/algo/objectives/pg.h"
#include "rlpp/algo/objectives/pg_is.h"
#include "rlpp/algo/objectives/ppo_clip.h"
#include "rlpp/algo/objectives/sapo.h"
#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

core::Registry<ObjectiveFactory>& objective_registry() {
  static core::Registry<ObjectiveFactory> registry = [] {
    core::Registry<ObjectiveFactory> r("policy objective");
    r.add("pg", function_objective<PgOptions, &pg_loss>(), "REINFORCE: -A * log pi");
    r.add("pg_is", function_objective<PgIsOptions, &pg_is_loss>(),
          "importance-weighted REINFORCE: -sg(r) * A * log pi");
    r.add("ppo_clip", function_objective<PpoClipOptions, &ppo_clip_loss>(),
          "PPO clipped surrogate, asymmetric eps, optional dual clip (arXiv 1707.06347)");
    r.add("dapo", function_objective<DapoOptions, &dapo_loss>(), "ppo_clip with clip-higher 0.2/0.28 (arXiv 2503.14476)");
    r.add("cispo", function_objective<CispoOptions, &cispo_loss>(), "-sg(min(r, eps_max)) * A * log pi (arXiv 2506.13585)");
    r.add("sapo", function_objective<SapoOptions, &sapo_loss>(), "soft gate -(4/tau) sigmoid(tau (r - 1)) * A");
    r.add("gppo", function_objective<GppoOptions, &gppo_loss>(), "clip-higher PPO keeping scaled gradients on clipped tokens (arXiv 2508.07629)");
    r.add("gspo", function_objective<GspoOptions, &gspo_loss>(), "sequence-level clipped ratio exp(mean log r) (arXiv 2507.18071)");
    r.add("dro", function_objective<DroOptions, &dro_loss>(), "-(A log pi - beta/2 (log r)^2)");
    r.add("gmpo", function_objective<GmpoOptions, &gmpo_loss>(), "geometric mean of log-clipped token ratios per sequence (arXiv 2507.20673)");
    r.add("bapo", prepared_objective<BapoOptions, BapoBounds, &bapo_bounds, &bapo_loss>(),
          "PPO with bounds re-balanced each step so positive tokens carry >= rho x the negative ones (arXiv 2510.18927)");
    r.add("hapo", prepared_objective<HapoOptions, EntropyNormStats, &hapo_stats, &hapo_loss>(),
          "entropy-normalised advantage redistribution + asymmetric adaptive dual clip (arXiv 2509.16591)");
    r.add("clip_cov", factory_of<PolicyObjective, ClipCovObjective, ClipCovOptions>(),
          "PPO clip; a random few high-covariance tokens lose their gradient (arXiv 2505.22617)");
    r.add("kl_cov", prepared_objective<KlCovOptions, KlCovStats, &kl_cov_stats, &kl_cov_loss>(),
          "-r A; the top-covariance tokens add beta |log r| (arXiv 2505.22617)");
    r.add("lp_reg", prepared_objective<LpRegOptions, LpRegStats, &lp_reg_stats, &lp_reg_loss>(),
          "wide-clip PPO; low-probability negative tokens regularised toward a min-p proxy (arXiv 2510.03222)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_objectives() { return listing(objective_registry()); }

torch::Tensor mask_token_loss(const torch::Tensor& token_loss, const torch::Tensor& mask) {
  if (!mask.defined()) return token_loss;
  return torch::where(valid_positions(token_loss, mask), token_loss, torch::zeros_like(token_loss));
}

void check_policy_input(const std::string& objective, const PolicyLossInput& in, bool needs_logp_old) {
  check_same_shape(objective, "logp", in.logp, "advantages", in.advantages);
  if (needs_logp_old || in.logp_old.defined()) {
    check_same_shape(objective, "logp", in.logp, "logp_old", in.logp_old);
  }
  if (in.mask.defined()) check_same_shape(objective, "logp", in.logp, "mask", in.mask);
  if (in.entropy.defined()) check_same_shape(objective, "logp", in.logp, "entropy", in.entropy);
  if (in.logp_proxy.defined()) check_same_shape(objective, "logp", in.logp, "logp_proxy", in.logp_proxy);
  if (in.rows.defined()) {
    core::require(in.rows.dim() == 1 && in.logp.dim() >= 1 && in.rows.size(0) == in.logp.size(0) &&
                      !in.rows.is_floating_point(),
                  objective + ": rows must be an integer (B) tensor with B = logp.size(0)");
  }
}

void check_sequences(const std::string& objective, const PolicyLossInput& in) {
  core::require(in.logp.defined() && in.logp.dim() == 2,
                "objective " + objective + ": needs (B, L) sequences, got logp with " +
                    std::to_string(in.logp.defined() ? in.logp.dim() : 0) + " dimensions");
}

torch::Tensor rows_of_global(const std::string& objective, const torch::Tensor& global, const PolicyLossInput& in) {
  if (!in.rows.defined()) {
    core::require(global.size(0) == in.logp.size(0),
                  objective + ": the batch prepared has " + std::to_string(global.size(0)) +
                      " rows but this input has " + std::to_string(in.logp.size(0)) +
                      "; pass `rows` for a micro-batch");
    return global;
  }
  const torch::Tensor idx = in.rows.to(torch::kLong).to(global.device());
  core::require(idx.numel() == 0 || (idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < global.size(0)),
                objective + ": rows must index the prepared batch of " + std::to_string(global.size(0)) + " rows");
  return global.index_select(0, idx);
}

torch::Tensor constant_like(const torch::Tensor& like, double value) {
  return torch::scalar_tensor(value, like.options().requires_grad(false));
}

std::map<std::string, torch::Tensor> policy_metrics(const PolicyLossInput& in,
                                                    const torch::Tensor& clipped_low,
                                                    const torch::Tensor& clipped_high,
                                                    const torch::Tensor& clipped_dual) {
  torch::NoGradGuard no_grad;
  const auto fraction = [&](const torch::Tensor& flags) {
    if (!flags.defined()) return torch::zeros({}, in.logp.options());
    return masked_mean(flags.to(in.logp.scalar_type()), in.mask);
  };
  std::map<std::string, torch::Tensor> m;
  m[metric::kClipFracLow] = fraction(clipped_low);
  m[metric::kClipFracHigh] = fraction(clipped_high);
  m[metric::kClipFracDual] = fraction(clipped_dual);
  m[metric::kClipFrac] = m[metric::kClipFracLow] + m[metric::kClipFracHigh] + m[metric::kClipFracDual];
  if (in.logp_old.defined()) {
    const torch::Tensor lr = log_ratio(in.logp.detach(), in.logp_old);
    // k3 = (r − 1) − log r >= 0 (Schulman's low-variance estimator of KL(π_old‖π)); k1 = −log r.
    m[metric::kApproxKl] = masked_mean(lr.exp() - 1 - lr, in.mask);
    m[metric::kApproxKlK1] = masked_mean(-lr, in.mask);
  } else {
    m[metric::kApproxKl] = torch::zeros({}, in.logp.options());
    m[metric::kApproxKlK1] = torch::zeros({}, in.logp.options());
  }
  if (in.entropy.defined()) m[metric::kEntropy] = masked_mean(in.entropy.detach(), in.mask);
  return m;
}

}  // namespace rlpp::algo

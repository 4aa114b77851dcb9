// Lp-Reg: low-probability regularisation (arXiv 2510.03222). Low-probability tokens with negative
// advantage ("reasoning sparks") are pushed out of the policy by repeated negative updates; Lp-Reg
// shields them by regularising toward a less noisy proxy of the old policy.
//
// Proxy π_p: the old policy's distribution with a min-p filter — tokens with π_old(v) < κ·max_v π_old
// removed — renormalised over the rest (min_p_proxy_logp computes log π_p of the taken tokens
// from old logits; −inf where the token was filtered out).
// Regularised set R (global batch, fixed in prepare()): valid tokens with A < 0, π ≤ δ and
// π < π_p, where δ is the ρ-quantile (ρ = 1%) of π over the valid negative-advantage tokens.
// Tokens in R: ℓ = −r·A + β·k3(π‖π_p), k3 = e^{−Δ} + Δ − 1 with Δ = log π − log π_p (the kl.h
// estimator; its value and gradient pull π up toward π_p, never down, as π < π_p there).
// Other tokens: PPO clip with the wide bounds [1 − ε_low, 1 + ε_high] and dual clip c.
// Defaults are the formula sheet's: κ = 0.02, β = 1, ε_low = 1.0, ε_high = 9.0 (bounds [0, 10]), c = 10.
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

struct LpRegOptions {
  double kappa = 0.02;  // min-p threshold of the proxy policy
  double rho = 0.01;  // fraction of negative-advantage tokens considered low-probability
  double beta = 1.0;
  double eps_low = 1.0;
  double eps_high = 9.0;
  double clip_c = 10.0;

  void bind(core::Binder& b) {
    b.num("kappa", kappa, "min-p threshold of the proxy policy: tokens below kappa * max prob are removed",
          core::Bounds{0.0, 1.0, false, true});
    b.num("rho", rho, "low-probability quantile among negative-advantage tokens", core::Bounds{0.0, 1.0, true, true});
    b.num("beta", beta, "coefficient of the k3 KL to the proxy", core::Bounds::non_negative());
    b.num("eps_low", eps_low, "lower clip of the other tokens: r >= 1 - eps_low", core::Bounds{0.0, 1.0, true, false});
    b.num("eps_high", eps_high, "upper clip of the other tokens: r <= 1 + eps_high", core::Bounds::positive());
    b.num("clip_c", clip_c, "dual-clip constant c",
          core::Bounds{1.0, std::numeric_limits<double>::infinity(), true, true});
  }
};

// The trainer computes logp_proxy for lp_reg at its κ (PolicyObjective::proxy_min_p).
inline double proxy_min_p_of(const LpRegOptions& o) { return o.kappa; }

// log π_p of the taken tokens under the min-p proxy of the old policy: (B, L), −inf where filtered.
// Processes `chunk_rows` rows of logits at a time so the (B, L, V) softmax is never held twice.
torch::Tensor min_p_proxy_logp(const torch::Tensor& logits_old,  // (B, L, V) old policy, temperature 1
                               const torch::Tensor& tokens,      // (B, L) int64 taken tokens
                               double kappa = 0.02, int64_t chunk_rows = 8);

struct LpRegStats {
  double log_delta = -std::numeric_limits<double>::infinity();  // log δ; −inf: no token qualifies
};
LpRegStats lp_reg_stats(const PolicyLossInput& in, const LpRegOptions& opts);
// Needs in.logp_proxy. Metrics add lp_reg_frac (fraction of valid tokens regularised).
ObjectiveOutput lp_reg_loss(const PolicyLossInput& in, const LpRegOptions& opts, const LpRegStats& stats);

}  // namespace rlpp::algo

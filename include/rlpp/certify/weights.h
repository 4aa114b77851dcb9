// Choosing the block weights w of the metric M(w) (arXiv 2512.06791, §3–4).
//
// Two players, w = (1, r): C's scaled off-diagonal is c(r) = (L12 + r·L21)/sqrt(r) and
//   α*(r) = ½[(μ1 + μ2) − sqrt((μ1 − μ2)² + c(r)²)],
// maximised where c is smallest, r* = L12/L21, giving α = ½[(μ1+μ2) − sqrt((μ1−μ2)² + 4L12L21)].
// α*(r) ≥ α ⇔ r ∈ [r₋, r₊], r± = (2P − L12L21 ± 2 sqrt(P(P − L12L21)))/L21², P = (μ1 − α)(μ2 − α).
//
// N players: maximise α s.t. WK + KᵀW ⪰ 2αW over diagonal W > 0. For fixed α, A = K − αI is a
// Z-matrix; W exists iff A is a nonsingular M-matrix, and then W = diag(y_i/x_i) with Ax = 1, Aᵀy = 1
// works (diag(y)·A·diag(x) + its transpose has positive row sums and non-positive off-diagonals, so
// it is positive definite). Bisection on α with that construction as the feasibility check; the
// Perron vectors of K (Kx = τx, Kᵀy = τy) give the fallback weights diag(y_i/x_i).
#pragma once
#include <Eigen/Core>
#include <optional>
#include <string>

namespace rlpp::certify {

struct WeightChoice {
  Eigen::VectorXd w;   // (N,), max entry 1
  double alpha = 0.0;  // α*(w), recomputed from w
  std::string method;  // "closed-form", "bisection" or "perron"
};

// Two players: the margin-maximising ratio r = w2/w1 (a finite stand-in when L12 or L21 is 0).
double best_ratio_two_players(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L);

struct Band {
  double alpha_level = 0.0;
  double r_lo = 0.0, r_hi = 0.0;  // ratios r = w2/w1 with α*(r) ≥ alpha_level
};
// The timescale band at `alpha_level`; nullopt when it is empty (P ≤ L12·L21 or a μ_i ≤ alpha_level)
// or unbounded (L21 = 0).
std::optional<Band> timescale_band(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, double alpha_level);

// N players (any N ≥ 1): bisection; Perron fallback when the bisection finds no feasible point.
WeightChoice optimise_weights(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L);
// The Perron weights alone.
WeightChoice perron_weights(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L);
// Two players: the closed form (w = (1, r*)).
WeightChoice two_player_weights(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L);

}  // namespace rlpp::certify

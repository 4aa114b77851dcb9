// The offline certification pipeline (arXiv 2512.06791): local constants over a region → block
// weights → {metric w, rate α*, β, safe Euler and RK4 steps, timescale band}, or the failing
// condition and by how much.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rlpp/certify/game.h"
#include "rlpp/certify/local_constants.h"
#include "rlpp/certify/weights.h"

namespace rlpp::certify {

struct CertifyOptions {
  Region region;
  Geometry geometry = Geometry::kEuclidean;
  // Called as each stage starts ("local constants", "weights", "beta"), with the seconds so far.
  std::function<void(const std::string& stage, double seconds)> progress;
};

struct Certificate {
  LocalConstants constants;
  bool holds = false;               // α* > 0
  WeightChoice weights;             // margin-maximising weights and α*(w)
  double beta = 0.0;                // β(w)
  bool beta_exact = true;           // false: the block-norm upper bound
  double small_gain_radius = 0.0;   // ρ(diag(μ)^{-1}L)
  double euler_step_max = 0.0;      // 2α*/β²
  double euler_step_best = 0.0;     // α*/β²
  double euler_factor_best = 1.0;   // sqrt(1 − α*²/β²)
  double rk4_step = 0.0;            // 2.5/β
  std::optional<Band> band;         // two players, α = 0
  // Two players: the ratio r = w2/w1 in the band that maximises the best Euler step α*(r)/β(r)²
  // (log-grid over the band, then golden-section refinement), and that step.
  std::optional<double> euler_ratio;
  double euler_step_best_over_weights = 0.0;
  std::vector<std::string> failures;  // each failing condition with its numbers
  double seconds = 0.0;             // wall time of certify()
};

Certificate certify(const Game& game, const CertifyOptions& options);

// {"holds", "geometry", "weights", "alpha", "beta", "mu", "L", "euler_step_max", …, "region"}.
nlohmann::json certificate_json(const Certificate& cert);
// A few readable lines for the terminal.
std::string certificate_summary(const Certificate& cert);

}  // namespace rlpp::certify

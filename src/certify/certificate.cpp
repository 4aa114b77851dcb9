#include "rlpp/certify/certificate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "rlpp/certify/margin.h"
#include "rlpp/certify/step_bounds.h"

namespace rlpp::certify {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s << std::setprecision(6) << v;
  return s.str();
}

// Which condition fails, and by how much (empty when α* > 0).
std::vector<std::string> failures_of(const LocalConstants& lc, double rho, double alpha, bool holds) {
  std::vector<std::string> out;
  const int64_t N = lc.mu.size();
  for (int64_t i = 0; i < N; ++i) {
    if (lc.mu(i) <= 0.0) {
      out.push_back("player " + std::to_string(i) + ": own curvature mu = " + num(lc.mu(i)) +
                    " <= 0 (needs > 0)");
    }
  }
  if (!out.empty()) return out;
  if (N == 2) {
    const double lhs = lc.L(0, 1) * lc.L(1, 0), rhs = lc.mu(0) * lc.mu(1);
    if (lhs >= rhs) {
      out.push_back("small gain: L12*L21 = " + num(lhs) + " >= mu1*mu2 = " + num(rhs) + " (exceeds by " +
                    num(lhs - rhs) + ")");
    }
  } else if (rho >= 1.0) {
    out.push_back("small gain: rho(diag(mu)^-1 L) = " + num(rho) + " >= 1 (exceeds by " + num(rho - 1.0) + ")");
  }
  if (out.empty() && !holds) out.push_back("margin alpha* = " + num(alpha) + " is not positive");
  return out;
}

std::string geometry_name(Geometry g) { return g == Geometry::kFisher ? "fisher" : "euclidean"; }

nlohmann::json to_json(const Eigen::MatrixXd& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t r = 0; r < m.rows(); ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t c = 0; c < m.cols(); ++c) row.push_back(m(r, c));
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json to_json(const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

// max over r ∈ [lo, hi] of α*(1, r)/β(1, r)², on log r: grid, then golden section around the best.
std::pair<double, double> best_euler_ratio(const LocalConstants& lc, double lo, double hi) {
  const auto step = [&](double log_r) {
    const Eigen::Vector2d w(1.0, std::exp(log_r));
    const double a = sgn_margin(lc.mu, lc.L, w);
    const double b = metric_lipschitz(lc.jacobians, lc.dims, lc.L, w);
    return a > 0.0 ? a / (b * b) : 0.0;
  };
  const double a = std::log(lo), b = std::log(hi);
  const int grid = 200;
  int best = 0;
  double best_val = -1.0;
  for (int k = 0; k <= grid; ++k) {
    const double v = step(a + (b - a) * k / grid);
    if (v > best_val) {
      best_val = v;
      best = k;
    }
  }
  double l = a + (b - a) * std::max(best - 1, 0) / grid, r = a + (b - a) * std::min(best + 1, grid) / grid;
  const double g = 0.5 * (std::sqrt(5.0) - 1.0);
  for (int it = 0; it < 60; ++it) {
    const double m1 = r - g * (r - l), m2 = l + g * (r - l);
    if (step(m1) >= step(m2)) {
      r = m2;
    } else {
      l = m1;
    }
  }
  const double x = 0.5 * (l + r);
  return {std::exp(x), step(x)};
}

}  // namespace

Certificate certify(const Game& game, const CertifyOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto stage = [&](const char* name) {
    if (options.progress) options.progress(name, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  Certificate c;
  stage("local constants");
  c.constants = estimate_local_constants(game, options.region, options.geometry);
  const LocalConstants& lc = c.constants;
  const bool positive_mu = lc.mu.minCoeff() > 0.0;
  c.small_gain_radius = positive_mu ? small_gain_radius(lc.mu, lc.L) : std::numeric_limits<double>::infinity();
  stage("weights");
  c.weights = optimise_weights(lc.mu, lc.L);
  if (lc.mu.size() == 2) {
    const WeightChoice closed = two_player_weights(lc.mu, lc.L);
    if (closed.alpha >= c.weights.alpha) c.weights = closed;
    c.band = timescale_band(lc.mu, lc.L, 0.0);
  }
  stage("beta");
  c.beta = metric_lipschitz(lc.jacobians, lc.dims, lc.L, c.weights.w, &c.beta_exact);
  // α* at round-off level (e.g. 1e-15 on a game exactly at the edge) certifies nothing.
  c.holds = c.weights.alpha > 1e-10 * std::max(1.0, lc.mu.cwiseAbs().maxCoeff());
  c.euler_step_max = euler_step_bound(c.weights.alpha, c.beta);
  c.euler_step_best = euler_best_step(c.weights.alpha, c.beta);
  c.euler_factor_best = euler_factor(c.weights.alpha, c.beta, c.euler_step_best);
  c.rk4_step = rk4_step_guideline(c.beta);
  if (c.band && c.band->r_hi > c.band->r_lo) {
    const auto [ratio, step] = best_euler_ratio(lc, c.band->r_lo, c.band->r_hi);
    c.euler_ratio = ratio;
    c.euler_step_best_over_weights = step;
  }
  c.failures = failures_of(lc, c.small_gain_radius, c.weights.alpha, c.holds);
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

nlohmann::json certificate_json(const Certificate& c) {
  const LocalConstants& lc = c.constants;
  nlohmann::json j;
  j["format"] = "rlpp-sgn-certificate";
  j["version"] = 1;
  j["holds"] = c.holds;
  j["geometry"] = geometry_name(lc.geometry);
  j["players"] = lc.mu.size();
  j["dims"] = lc.dims;
  j["weights"] = to_json(c.weights.w);
  j["weight_method"] = c.weights.method;
  j["alpha"] = c.weights.alpha;
  j["beta"] = c.beta;
  j["beta_exact"] = c.beta_exact;
  j["euclidean_margin"] = lc.euclidean_margin;
  j["euclidean_margin_exact"] = lc.euclidean_margin_exact;
  j["small_gain_radius"] = std::isfinite(c.small_gain_radius) ? nlohmann::json(c.small_gain_radius) : nlohmann::json();
  j["mu"] = to_json(lc.mu);
  Eigen::MatrixXd L = lc.L;
  L.diagonal().setZero();
  j["L"] = to_json(L);
  j["euler_step_max"] = c.euler_step_max;
  j["euler_step_best"] = c.euler_step_best;
  j["euler_factor_best"] = c.euler_factor_best;
  j["rk4_step_guideline"] = c.rk4_step;
  if (c.band) j["band"] = {{"alpha", c.band->alpha_level}, {"r_lo", c.band->r_lo}, {"r_hi", c.band->r_hi}};
  if (c.euler_ratio) {
    j["euler_weights"] = {{"ratio", *c.euler_ratio}, {"step_best", c.euler_step_best_over_weights}};
  }
  j["failures"] = c.failures;
  j["region"] = {{"exact", lc.exact},
                 {"centre_points", lc.centre_points},
                 {"grid_points", lc.grid_points},
                 {"random_points", lc.random_points}};
  j["seconds"] = c.seconds;
  return j;
}

std::string certificate_summary(const Certificate& c) {
  const LocalConstants& lc = c.constants;
  std::ostringstream s;
  s << "players " << lc.mu.size() << " (dims";
  if (lc.dims.size() > 8 && std::count(lc.dims.begin(), lc.dims.end(), lc.dims[0]) == static_cast<int64_t>(lc.dims.size())) {
    s << " " << lc.dims[0] << " each";
  } else {
    for (int64_t d : lc.dims) s << " " << d;
  }
  s << "), geometry " << geometry_name(lc.geometry) << "\n";
  s << "region: " << (lc.exact ? "exact (affine pseudo-gradient, one Jacobian)"
                               : std::to_string(lc.centre_points) + " centre + " + std::to_string(lc.grid_points) +
                                     " vertices + " + std::to_string(lc.random_points) + " random points (an estimate)")
    << "\n";
  if (lc.euclidean_margin_exact) {
    s << "euclidean margin (lambda_min of sym J): " << num(lc.euclidean_margin)
      << (lc.euclidean_margin > 0.0 ? "  monotone" : "  not monotone") << "\n";
  } else {
    s << "euclidean margin (lambda_min of sym J) >= " << num(lc.euclidean_margin) << " (block bound, "
      << std::accumulate(lc.dims.begin(), lc.dims.end(), int64_t{0}) << " > " << kExactMarginLimit << " coordinates)"
      << (lc.euclidean_margin > 0.0 ? "  monotone" : "  monotonicity not shown") << "\n";
  }
  s << "SGN: " << (c.holds ? "HOLDS" : "FAILS") << "  alpha* = " << num(c.weights.alpha) << "  beta = " << num(c.beta)
    << (c.beta_exact ? "" : " (block-norm bound)") << "  weights (" << c.weights.method << ")";
  if (c.weights.w.size() <= 8) {
    for (int64_t i = 0; i < c.weights.w.size(); ++i) s << " " << num(c.weights.w(i));
  }
  s << "\n";
  if (c.holds) {
    s << "euler: h < " << num(c.euler_step_max) << " (best h = " << num(c.euler_step_best) << ", factor "
      << num(c.euler_factor_best) << "/step);  rk4 guideline h <= " << num(c.rk4_step) << "\n";
  }
  if (c.band) {
    s << "timescale band (w2/w1 with alpha* > 0): [" << num(c.band->r_lo) << ", " << num(c.band->r_hi) << "]\n";
  }
  if (c.euler_ratio) {
    s << "largest best Euler step alpha*/beta^2 over the band: " << num(c.euler_step_best_over_weights) << " at w2/w1 = "
      << num(*c.euler_ratio) << "\n";
  }
  for (const auto& f : c.failures) s << "fails: " << f << "\n";
  return s.str();
}

}  // namespace rlpp::certify

#include "rlpp/certify/local_constants.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "rlpp/certify/markov_game.h"
#include "rlpp/certify/quadratic_game.h"
#include "rlpp/core/error.h"

namespace rlpp::certify {

double min_sym_eigenvalue(const Eigen::MatrixXd& A) {
  const Eigen::MatrixXd S = 0.5 * (A + A.transpose());
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(S, Eigen::EigenvaluesOnly).eigenvalues()(0);
}

double spectral_norm(const Eigen::MatrixXd& A) {
  if (A.size() == 0) return 0.0;
  const Eigen::MatrixXd G = A.rows() >= A.cols() ? Eigen::MatrixXd(A.transpose() * A)
                                                 : Eigen::MatrixXd(A * A.transpose());
  const double top = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(G, Eigen::EigenvaluesOnly).eigenvalues().maxCoeff();
  return std::sqrt(std::max(top, 0.0));
}

std::vector<Eigen::VectorXd> region_points(const Game& game, const Region& region, int64_t* grid_points,
                                           int64_t* random_points) {
  const int64_t n = game.dim();
  const Eigen::VectorXd c = region.centre.size() ? region.centre : game.centre();
  core::require(c.size() == n, "region centre has " + std::to_string(c.size()) + " entries, the game has " +
                                   std::to_string(n) + " coordinates");
  std::vector<Eigen::VectorXd> pts{game.project(c)};
  std::mt19937_64 gen(region.seed);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  // Vertices c ± r·e: all of them when few, else random sign patterns.
  *grid_points = 0;
  const bool all_vertices = n < 62 && (int64_t{1} << n) <= region.max_grid_vertices;
  const int64_t vertices = all_vertices ? (int64_t{1} << n) : region.max_grid_vertices;
  for (int64_t v = 0; v < vertices; ++v) {
    Eigen::VectorXd x = c;
    for (int64_t k = 0; k < n; ++k) {
      const bool plus = all_vertices ? ((v >> k) & 1) : (unit(gen) > 0.0);
      x(k) += plus ? region.radius : -region.radius;
    }
    pts.push_back(game.project(x));
    ++*grid_points;
  }
  for (int64_t r = 0; r < region.random_points; ++r) {
    Eigen::VectorXd x = c;
    for (int64_t k = 0; k < n; ++k) x(k) += region.radius * unit(gen);
    pts.push_back(game.project(x));
  }
  *random_points = region.random_points;
  return pts;
}

namespace {

// Per player: basis B_i (d_i, k_i) (empty when every B_i = I) and, in Fisher geometry, G_i^{-1/2} (k_i, k_i).
struct Frame {
  std::vector<Eigen::MatrixXd> basis;
  std::vector<Eigen::MatrixXd> inv_sqrt_metric;  // empty in Euclidean geometry
};

Eigen::MatrixXd inverse_sqrt(const Eigen::MatrixXd& G) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(G);
  return es.eigenvectors() * es.eigenvalues().cwiseInverse().cwiseSqrt().asDiagonal() *
         es.eigenvectors().transpose();
}

Frame frame_at(const Game& game, const Eigen::VectorXd& x, Geometry geometry) {
  const auto* markov = dynamic_cast<const MarkovGame*>(&game);
  core::require(geometry == Geometry::kEuclidean || markov != nullptr,
                "the Fisher geometry needs a Markov game (softmax policies)");
  Frame f;
  if (markov == nullptr) return f;  // B_i = I: the blocks of J are used as they are
  for (int i = 0; i < game.num_players(); ++i) {
    f.basis.push_back(markov->tangent_basis(i));
    if (geometry == Geometry::kFisher) {
      const Eigen::MatrixXd& B = f.basis.back();
      f.inv_sqrt_metric.push_back(inverse_sqrt(B.transpose() * markov->fisher(x, i) * B));
    }
  }
  return f;
}

}  // namespace

LocalConstants estimate_local_constants(const Game& game, const Region& region, Geometry geometry) {
  const int N = game.num_players();
  LocalConstants lc;
  lc.geometry = geometry;
  lc.exact = game.is_affine() && geometry == Geometry::kEuclidean;
  std::vector<Eigen::VectorXd> pts;
  if (lc.exact) {
    pts.push_back(region.centre.size() ? region.centre : game.centre());
    lc.centre_points = 1;
  } else {
    pts = region_points(game, region, &lc.grid_points, &lc.random_points);
    lc.centre_points = 1;
  }
  lc.mu = Eigen::VectorXd::Constant(N, std::numeric_limits<double>::infinity());
  lc.L = Eigen::MatrixXd::Zero(N, N);
  lc.euclidean_margin = std::numeric_limits<double>::infinity();
  // A quadratic game's Jacobian is its H: read it in place rather than copy n² doubles per point.
  const auto* quadratic = dynamic_cast<const QuadraticGame*>(&game);
  Eigen::MatrixXd J_copy;
  std::vector<int64_t> off;
  for (const auto& x : pts) {
    if (quadratic == nullptr) J_copy = game.jacobian(x);
    const Eigen::MatrixXd& J = quadratic != nullptr ? quadratic->H() : J_copy;
    core::require(J.allFinite(), "the game's Jacobian is not finite at a point of the region");
    const Frame f = frame_at(game, x, geometry);
    if (lc.dims.empty()) {
      for (int i = 0; i < N; ++i) lc.dims.push_back(f.basis.empty() ? game.players()[i].dim : f.basis[i].cols());
      off.assign(N + 1, 0);
      for (int i = 0; i < N; ++i) off[i + 1] = off[i] + lc.dims[i];
      lc.euclidean_margin_exact = off[N] <= kExactMarginLimit;
    }
    // Ĵ is assembled only when its dense λ_min is affordable; the block constants never need it.
    Eigen::MatrixXd Jh;
    if (lc.euclidean_margin_exact) Jh.resize(off[N], off[N]);
    for (int i = 0; i < N; ++i) {
      const auto& pi = game.players()[i];
      for (int j = 0; j < N; ++j) {
        const auto& pj = game.players()[j];
        const auto raw = J.block(pi.offset, pj.offset, pi.dim, pj.dim);
        Eigen::MatrixXd blk;
        if (f.basis.empty()) {
          blk = raw;
        } else {
          blk = f.basis[i].transpose() * raw * f.basis[j];
        }
        if (!f.inv_sqrt_metric.empty()) blk = f.inv_sqrt_metric[i] * blk * f.inv_sqrt_metric[j];
        if (lc.euclidean_margin_exact) Jh.block(off[i], off[j], lc.dims[i], lc.dims[j]) = blk;
        // Uncoupled pairs (zero blocks) are common in large games: their norm needs no eigensolver.
        if (i != j && blk.isZero(0.0)) continue;
        lc.L(i, j) = std::max(lc.L(i, j), spectral_norm(blk));
        if (i == j) lc.mu(i) = std::min(lc.mu(i), min_sym_eigenvalue(blk));
      }
    }
    if (lc.euclidean_margin_exact) {
      lc.euclidean_margin = std::min(lc.euclidean_margin, min_sym_eigenvalue(Jh));
      lc.jacobians.push_back(std::move(Jh));
    }
  }
  if (!lc.euclidean_margin_exact) {
    // xᵀ sym(Ĵ) x ≥ Σ μ_i‖x_i‖² − Σ_{i≠j} L_ij‖x_i‖‖x_j‖ = tᵀKt, t_i = ‖x_i‖ ≥ 0, so λ_min(sym Ĵ) ≥ λ_min(sym K),
    // at every sampled point (K's entries are the worst over the points).
    Eigen::MatrixXd K = -0.5 * (lc.L + lc.L.transpose());
    K.diagonal() = lc.mu;
    lc.euclidean_margin = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(K, Eigen::EigenvaluesOnly).eigenvalues()(0);
  }
  return lc;
}

}  // namespace rlpp::certify

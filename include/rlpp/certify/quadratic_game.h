// Quadratic (linear-quadratic) games: f_i(x) = ½ x_iᵀQ_i x_i + Σ_{j≠i} x_iᵀA_ij x_j + b_iᵀx_i.
// The pseudo-gradient is affine, F(x) = Hx + b with H_ii = sym(Q_i), H_ij = A_ij, so the Jacobian
// is the constant H and every local constant of the certificate is exact (arXiv 2512.06791).
// Bilinear zero-sum games are the case f_1 = x_1ᵀAx_2 + ½ε_1‖x_1‖², f_2 = −x_1ᵀAx_2 + ½ε_2‖x_2‖².
#pragma once
#include <Eigen/Core>

#include "rlpp/certify/game.h"

namespace rlpp::certify {

class QuadraticGame : public Game {
 public:
  // H (n, n) is the block matrix [sym(Q_i) on the diagonal, A_ij off it]; b (n,).
  QuadraticGame(std::vector<Player> players, Eigen::MatrixXd H, Eigen::VectorXd b);

  torch::Tensor costs(const torch::Tensor& x) const override;
  Eigen::VectorXd pseudo_gradient(const Eigen::VectorXd& x) const override { return H_ * x + b_; }
  Eigen::MatrixXd jacobian(const Eigen::VectorXd&) const override { return H_; }
  bool is_affine() const override { return true; }

  const Eigen::MatrixXd& H() const { return H_; }
  const Eigen::VectorXd& b() const { return b_; }
  // The same game with every coupling block A_ij multiplied by `lambda` (λ sweeps).
  QuadraticGame with_coupling(double lambda) const;

 private:
  Eigen::MatrixXd H_;  // (n, n)
  Eigen::VectorXd b_;  // (n,)
};

// Bilinear zero-sum game: H = [[ε_1 I, A], [−Aᵀ, ε_2 I]].  A (d_1, d_2).
QuadraticGame make_bilinear_game(const Eigen::MatrixXd& A, double eps1, double eps2,
                                 Constraint c1 = {}, Constraint c2 = {});

// The LQ game of the SGN paper: 2 players × d dims, Q_i = I, A_12 = λ·a12·R, A_21 = λ·a21·Rᵀ with
// R a random orthogonal matrix (QR of a Gaussian matrix from `seed`). Euclidean margin
// 1 − λ(a12 + a21)/2, SGN margin with the best weights 1 − λ·sqrt(a12·a21).
QuadraticGame make_lq_rotation_game(int64_t d, double lambda, double a12, double a21, uint64_t seed);

// A random N-player benchmark game, d dims each: Q_i = diag(1 + u), u ~ U[0, 1)^d, and every
// A_ij (i ≠ j) a Gaussian matrix rescaled to spectral norm coupling·v/(N − 1), v ~ U[0, 1).
QuadraticGame make_random_quadratic_game(int64_t players, int64_t d, double coupling, uint64_t seed);

}  // namespace rlpp::certify

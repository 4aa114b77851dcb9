#include "rlpp/certify/quadratic_game.h"

#include <Eigen/QR>

#include "rlpp/certify/local_constants.h"
#include <random>

namespace rlpp::certify {

QuadraticGame::QuadraticGame(std::vector<Player> players, Eigen::MatrixXd H, Eigen::VectorXd b)
    : Game(std::move(players)), H_(std::move(H)), b_(std::move(b)) {}

torch::Tensor QuadraticGame::costs(const torch::Tensor& x) const {
  // f_i = ½ x_iᵀH_ii x_i + Σ_{j≠i} x_iᵀH_ij x_j + b_iᵀx_i, from the rows of H that belong to player i.
  const torch::Tensor H = torch::from_blob(const_cast<double*>(H_.data()), {H_.cols(), H_.rows()},
                                           torch::kFloat64).t();  // Eigen is column-major
  const torch::Tensor b = torch::from_blob(const_cast<double*>(b_.data()), {b_.size()}, torch::kFloat64);
  std::vector<torch::Tensor> f;
  for (const auto& p : players()) {
    const torch::Tensor xi = x.slice(0, p.offset, p.offset + p.dim);
    const torch::Tensor rows = H.slice(0, p.offset, p.offset + p.dim);             // (d_i, n)
    const torch::Tensor own = rows.slice(1, p.offset, p.offset + p.dim);           // (d_i, d_i)
    const torch::Tensor cross = torch::mv(rows, x) - torch::mv(own, xi);           // Σ_{j≠i} H_ij x_j
    f.push_back(0.5 * torch::dot(xi, torch::mv(own, xi)) + torch::dot(xi, cross) +
                torch::dot(b.slice(0, p.offset, p.offset + p.dim), xi));
  }
  return torch::stack(f);
}

QuadraticGame QuadraticGame::with_coupling(double lambda) const {
  Eigen::MatrixXd H = lambda * H_;
  for (const auto& p : players()) {
    H.block(p.offset, p.offset, p.dim, p.dim) = H_.block(p.offset, p.offset, p.dim, p.dim);
  }
  return QuadraticGame(players(), H, b_);
}

QuadraticGame make_bilinear_game(const Eigen::MatrixXd& A, double eps1, double eps2, Constraint c1,
                                 Constraint c2) {
  const int64_t d1 = A.rows(), d2 = A.cols();
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(d1 + d2, d1 + d2);
  H.topLeftCorner(d1, d1).diagonal().setConstant(eps1);
  H.bottomRightCorner(d2, d2).diagonal().setConstant(eps2);
  H.topRightCorner(d1, d2) = A;
  H.bottomLeftCorner(d2, d1) = -A.transpose();
  std::vector<Player> players{{"x", d1, 0, std::move(c1)}, {"y", d2, 0, std::move(c2)}};
  return QuadraticGame(std::move(players), H, Eigen::VectorXd::Zero(d1 + d2));
}

QuadraticGame make_lq_rotation_game(int64_t d, double lambda, double a12, double a21, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd G(d, d);
  for (int64_t c = 0; c < d; ++c)
    for (int64_t r = 0; r < d; ++r) G(r, c) = normal(gen);
  const Eigen::MatrixXd R = Eigen::HouseholderQR<Eigen::MatrixXd>(G).householderQ();  // orthogonal (d, d)
  Eigen::MatrixXd H = Eigen::MatrixXd::Identity(2 * d, 2 * d);
  H.topRightCorner(d, d) = lambda * a12 * R;
  H.bottomLeftCorner(d, d) = lambda * a21 * R.transpose();
  std::vector<Player> players{{"p1", d, 0, {}}, {"p2", d, 0, {}}};
  return QuadraticGame(std::move(players), H, Eigen::VectorXd::Zero(2 * d));
}

QuadraticGame make_random_quadratic_game(int64_t players, int64_t d, double coupling, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int64_t n = players * d;
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(n, n);
  std::vector<Player> ps;
  for (int64_t i = 0; i < players; ++i) {
    ps.push_back({"p" + std::to_string(i), d, 0, {}});
    for (int64_t k = 0; k < d; ++k) H(i * d + k, i * d + k) = 1.0 + unit(gen);
  }
  const double scale = players > 1 ? coupling / static_cast<double>(players - 1) : 0.0;
  Eigen::MatrixXd G(d, d);
  for (int64_t i = 0; i < players; ++i) {
    for (int64_t j = 0; j < players; ++j) {
      if (i == j) continue;
      for (int64_t c = 0; c < d; ++c)
        for (int64_t r = 0; r < d; ++r) G(r, c) = normal(gen);
      H.block(i * d, j * d, d, d) = G * (scale * unit(gen) / spectral_norm(G));
    }
  }
  return QuadraticGame(std::move(ps), H, Eigen::VectorXd::Zero(n));
}

}  // namespace rlpp::certify

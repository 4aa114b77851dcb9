#include "rlpp/certify/markov_game.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <cmath>

namespace rlpp::certify {
namespace {

std::vector<Player> markov_players(const MarkovGameSpec& spec) {
  std::vector<Player> players;
  for (size_t i = 0; i < spec.actions.size(); ++i) {
    players.push_back({"player" + std::to_string(i), spec.states * spec.actions[i], 0, {}});
  }
  return players;
}

// Softmax rows of a (S, A) logit block, in double precision.
Eigen::MatrixXd softmax_rows(const Eigen::VectorXd& logits, int64_t S, int64_t A) {
  Eigen::MatrixXd p(S, A);
  for (int64_t s = 0; s < S; ++s) {
    const Eigen::VectorXd z = logits.segment(s * A, A);
    const Eigen::ArrayXd e = (z.array() - z.maxCoeff()).exp();
    p.row(s) = (e / e.sum()).matrix().transpose();
  }
  return p;
}

}  // namespace

MarkovGame::MarkovGame(MarkovGameSpec spec) : Game(markov_players(spec)), spec_(std::move(spec)) {
  const int64_t S = spec_.states, N = static_cast<int64_t>(spec_.actions.size());
  for (int64_t a : spec_.actions) joint_ *= a;
  P_ = torch::zeros({S, joint_, S}, torch::kFloat64);
  R_ = torch::zeros({N, S, joint_}, torch::kFloat64);
  rho_ = torch::zeros({S}, torch::kFloat64);
  auto P = P_.accessor<double, 3>();
  auto R = R_.accessor<double, 3>();
  for (int64_t s = 0; s < S; ++s) {
    rho_[s] = spec_.initial[s];
    for (int64_t a = 0; a < joint_; ++a) {
      for (int64_t t = 0; t < S; ++t) P[s][a][t] = spec_.transitions[s][a][t];
      for (int64_t i = 0; i < N; ++i) R[i][s][a] = spec_.rewards[i][s][a];
    }
  }
}

torch::Tensor MarkovGame::costs(const torch::Tensor& theta) const {
  const int64_t S = spec_.states;
  torch::Tensor joint = torch::ones({S, 1}, torch::kFloat64);  // π(a|s) over the players so far
  std::vector<torch::Tensor> entropy;
  for (const auto& p : players()) {
    const torch::Tensor logits = theta.slice(0, p.offset, p.offset + p.dim).reshape({S, -1});
    const torch::Tensor logp = torch::log_softmax(logits, 1);   // (S, A_i)
    const torch::Tensor pi = logp.exp();
    entropy.push_back(-(pi * logp).sum());                       // Σ_s H(π_i(·|s))
    joint = (joint.unsqueeze(2) * pi.unsqueeze(1)).reshape({S, -1});
  }
  const torch::Tensor P_pi = (joint.unsqueeze(2) * P_).sum(1);           // (S, S)
  const torch::Tensor r_pi = (joint.unsqueeze(0) * R_).sum(2);           // (N, S)
  const torch::Tensor A = torch::eye(S, torch::kFloat64) - spec_.gamma * P_pi;
  const torch::Tensor V = torch::mm(torch::inverse(A), r_pi.t());        // (S, N)
  const torch::Tensor value = torch::mv(V.t(), rho_);                   // (N,)
  return -(value + spec_.tau * torch::stack(entropy));
}

Eigen::MatrixXd MarkovGame::policy(const Eigen::VectorXd& theta, int i) const {
  return softmax_rows(block(theta, i), spec_.states, spec_.actions[i]);
}

Eigen::MatrixXd MarkovGame::fisher(const Eigen::VectorXd& theta, int i) const {
  const int64_t S = spec_.states, A = spec_.actions[i];
  const Eigen::MatrixXd p = policy(theta, i);
  Eigen::MatrixXd F = spec_.fisher_ridge * Eigen::MatrixXd::Identity(S * A, S * A);
  for (int64_t s = 0; s < S; ++s) {
    const Eigen::VectorXd ps = p.row(s).transpose();
    F.block(s * A, s * A, A, A) += Eigen::MatrixXd(ps.asDiagonal()) - ps * ps.transpose();
  }
  return F;
}

Eigen::MatrixXd MarkovGame::tangent_basis(int i) const {
  const int64_t S = spec_.states, A = spec_.actions[i];
  // Eigenvectors of the centring matrix I − 11ᵀ/A with eigenvalue 1 span {v : Σv = 0}.
  const Eigen::MatrixXd C = Eigen::MatrixXd::Identity(A, A) - Eigen::MatrixXd::Constant(A, A, 1.0 / A);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(C);
  const Eigen::MatrixXd E = es.eigenvectors().rightCols(A - 1);  // eigenvalues ascending: 0, 1, …, 1
  Eigen::MatrixXd B = Eigen::MatrixXd::Zero(S * A, S * (A - 1));
  for (int64_t s = 0; s < S; ++s) B.block(s * A, s * (A - 1), A, A - 1) = E;
  return B;
}

Eigen::VectorXd MarkovGame::natural_gradient(const Eigen::VectorXd& theta) const {
  const Eigen::VectorXd g = pseudo_gradient(theta);
  Eigen::VectorXd out(g.size());
  for (int i = 0; i < num_players(); ++i) {
    const auto& p = players()[i];
    out.segment(p.offset, p.dim) = fisher(theta, i).llt().solve(g.segment(p.offset, p.dim));
  }
  return out;
}

double MarkovGame::kl(const Eigen::VectorXd& theta_star, const Eigen::VectorXd& theta, int i) const {
  const Eigen::MatrixXd ps = policy(theta_star, i), p = policy(theta, i);
  double total = 0.0;
  for (int64_t s = 0; s < ps.rows(); ++s)
    for (int64_t a = 0; a < ps.cols(); ++a)
      if (ps(s, a) > 0.0) total += ps(s, a) * std::log(ps(s, a) / p(s, a));
  return total;
}

}  // namespace rlpp::certify

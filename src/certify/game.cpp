#include "rlpp/certify/game.h"

#include "rlpp/core/error.h"

namespace rlpp::certify {

Game::Game(std::vector<Player> players) : players_(std::move(players)) {
  for (auto& p : players_) {
    p.offset = dim_;
    dim_ += p.dim;
  }
}

Eigen::VectorXd Game::pseudo_gradient(const Eigen::VectorXd& x) const { return autograd_pseudo_gradient(*this, x); }

Eigen::MatrixXd Game::jacobian(const Eigen::VectorXd& x) const { return autograd_jacobian(*this, x); }

Eigen::VectorXd Game::centre() const {
  Eigen::VectorXd c = Eigen::VectorXd::Zero(dim_);
  for (const auto& p : players_) {
    if (p.constraint.kind == ConstraintKind::kBox) {
      c.segment(p.offset, p.dim) = 0.5 * (p.constraint.lo + p.constraint.hi);
    } else if (p.constraint.kind == ConstraintKind::kSimplex) {
      c.segment(p.offset, p.dim).setConstant(1.0 / static_cast<double>(p.dim));
    }
  }
  return c;
}

Eigen::VectorXd Game::project(const Eigen::VectorXd& x) const {
  Eigen::VectorXd y = x;
  for (const auto& p : players_) {
    if (p.constraint.kind != ConstraintKind::kNone) {
      y.segment(p.offset, p.dim) = p.constraint.project(x.segment(p.offset, p.dim));
    }
  }
  return y;
}

Eigen::VectorXd Game::block(const Eigen::VectorXd& x, int i) const {
  return x.segment(players_[i].offset, players_[i].dim);
}

torch::Tensor to_tensor(const Eigen::VectorXd& x) {
  return torch::from_blob(const_cast<double*>(x.data()), {x.size()}, torch::kFloat64).clone();
}

Eigen::VectorXd to_eigen(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat64).contiguous().reshape({-1});
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.numel());
}

namespace {

// F(x) as a tensor that keeps the graph (for a second derivative).
torch::Tensor pseudo_gradient_tensor(const Game& game, const torch::Tensor& x, bool create_graph) {
  const torch::Tensor f = game.costs(x);
  core::require(f.dim() == 1 && f.size(0) == game.num_players(), "game costs must be one per player");
  std::vector<torch::Tensor> blocks;
  for (int i = 0; i < game.num_players(); ++i) {
    const auto& p = game.players()[i];
    const torch::Tensor g = torch::autograd::grad({f[i]}, {x}, {}, /*retain_graph=*/true, create_graph,
                                                  /*allow_unused=*/true)[0];
    blocks.push_back(g.defined() ? g.slice(0, p.offset, p.offset + p.dim)
                                 : torch::zeros({p.dim}, torch::kFloat64));
  }
  return torch::cat(blocks);
}

}  // namespace

Eigen::VectorXd autograd_pseudo_gradient(const Game& game, const Eigen::VectorXd& x) {
  const torch::Tensor xt = to_tensor(x).requires_grad_(true);
  return to_eigen(pseudo_gradient_tensor(game, xt, /*create_graph=*/false));
}

Eigen::MatrixXd autograd_jacobian(const Game& game, const Eigen::VectorXd& x) {
  const torch::Tensor xt = to_tensor(x).requires_grad_(true);
  const torch::Tensor F = pseudo_gradient_tensor(game, xt, /*create_graph=*/true);  // (n,)
  const int64_t n = game.dim();
  Eigen::MatrixXd J = Eigen::MatrixXd::Zero(n, n);
  for (int64_t k = 0; k < n; ++k) {
    if (!F[k].requires_grad()) continue;  // a constant component (e.g. a linear cost)
    const torch::Tensor row = torch::autograd::grad({F[k]}, {xt}, {}, /*retain_graph=*/true,
                                                    /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (row.defined()) J.row(k) = to_eigen(row).transpose();
  }
  return J;
}

}  // namespace rlpp::certify

#include "rlpp/train/offline/prdc.h"

namespace rlpp::train::offline {

void PrdcOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("learning_rate", learning_rate, "Adam learning rate of the actor and the critics", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target networks", Bounds::closed(0, 1));
  b.num("policy_noise", policy_noise, "target smoothing noise (times the action scale)", Bounds::non_negative());
  b.num("noise_clip", noise_clip, "clip of the target smoothing noise (times the action scale)", Bounds::non_negative());
  b.integer("policy_frequency", policy_frequency, "actor and target updates every this many steps",
            Bounds::closed(1, 1000));
  b.num("alpha", alpha, "alpha of lambda = alpha / mean|Q| (weight of the Q term)", Bounds::positive());
  b.num("beta", beta, "weight of the state in the nearest-neighbour key (beta s, a)", Bounds::non_negative());
  b.integers("hidden", hidden, "hidden widths of the actor and critic MLPs (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor prdc_keys(const torch::Tensor& obs, const torch::Tensor& act, double beta) {
  return torch::cat({obs * beta, act}, 1);
}

torch::Tensor prdc_nearest_actions(const KdTree& tree, const torch::Tensor& dataset_actions, const torch::Tensor& obs,
                                   const torch::Tensor& pi, double beta) {
  torch::NoGradGuard no_grad;
  const torch::Tensor keys = prdc_keys(obs, pi, beta).to(torch::kFloat32).contiguous();  // (B, S + A)
  TORCH_CHECK(keys.size(1) == tree.dim(), "prdc: keys of width ", keys.size(1), " against a tree of width ", tree.dim());
  const int64_t n = keys.size(0);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  tree.nearest_batch(keys.data_ptr<float>(), n, idx.data());
  return dataset_actions.index_select(0, torch::tensor(idx, torch::kInt64));
}

PrdcActorLoss prdc_actor_loss(const torch::Tensor& q, const torch::Tensor& pi, const torch::Tensor& nearest,
                              double alpha) {
  const torch::Tensor lambda = alpha / q.abs().mean().detach();
  const torch::Tensor dc = (pi - nearest.detach()).pow(2).mean();
  return {-lambda * q.mean() + dc, lambda, dc};
}

}  // namespace rlpp::train::offline

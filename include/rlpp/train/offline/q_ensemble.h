// An ensemble of E independent Q(s, a) MLPs evaluated as one batched matrix product per layer
// (RLPD's critic, Ball et al. 2023, arXiv 2302.02948: E = 10, LayerNorm after every hidden Linear,
// ReLU): for member e, h_0 = [s, a], h_l = ReLU(LN(W_l^e h_{l−1} + b_l^e)) (LN with its own
// scale and shift per member, eps 1e-6), Q^e = w^e · h_L + c^e. Each member's Linear layers are
// initialised as PyTorch's default (U(±1/√fan_in)), from the global generator at construction.
// Used by EXPO (expo.h).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace rlpp::train::offline {

class QEnsembleImpl : public torch::nn::Module {
 public:
  QEnsembleImpl(int64_t members, int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden, bool layer_norm);
  // Every member: obs (B, obs_dim), act (B, A) -> (E, B).
  torch::Tensor forward(const torch::Tensor& obs, const torch::Tensor& act);
  // The members `idx` (k) only -> (k, B).
  torch::Tensor forward_members(const torch::Tensor& obs, const torch::Tensor& act, const torch::Tensor& idx);
  int64_t members() const { return members_; }

  std::vector<torch::Tensor> weights, biases, ln_scales, ln_shifts;  // per layer: (E, in, out), (E, 1, out), (E, 1, out)

 private:
  torch::Tensor run(const torch::Tensor& x, const torch::Tensor* idx);
  int64_t members_;
  bool layer_norm_;
};
TORCH_MODULE(QEnsemble);

}  // namespace rlpp::train::offline

// Sets the .grad of some parameters to the gradient of a loss with respect to them, and computes
// nothing else: loss.backward() would also fill the gradients of every other network the loss
// passes through (the critics under an actor's loss, A2PR's VAE under its regulariser), which their
// own optimizers clear before they step — the same update at a fraction of the backward pass.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace rlpp::train::offline {

// params' .grad ← ∂loss/∂params (overwritten, not accumulated); the graph is freed. The gradients
// are copied: autograd may return views (a transposed weight gradient), which an optimizer's
// zero_grad() cannot detach in place.
inline void set_grads(const torch::Tensor& loss, const std::vector<torch::Tensor>& params) {
  const std::vector<torch::Tensor> g = torch::autograd::grad({loss}, params);
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor p = params[i];
    p.mutable_grad() = g[i].clone(at::MemoryFormat::Contiguous);
  }
}

}  // namespace rlpp::train::offline

// token_logprobs(): teacher-forced log pi(y_t | y_<t) and entropies through the LM head, in chunks
// of positions so that the (B, L, V) fp32 logits never exist whole, neither in the forward nor in
// the backward (which recomputes each chunk's softmax instead of keeping it).
#include <torch/torch.h>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/fast_logprobs.h"
#include "rlpp/nn/lm/transformer.h"

namespace rlpp::nn::lm {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The chunk's logits in fp32: z = (h W^T) / tau, the matmul in `compute` precision.
//   h (B, c, H), w (V, H) -> (B, c, V)
torch::Tensor chunk_logits(const torch::Tensor& h, const torch::Tensor& w, torch::ScalarType compute, double tau) {
  torch::Tensor z = torch::matmul(h.to(compute), w.to(compute).t()).to(torch::kFloat);
  return tau == 1.0 ? z : z / tau;
}

// With z = logits / tau, p = softmax(z):
//   logp_y = z_y - logsumexp(z)         d logp_y / dz = onehot(y) - p
//   H = -sum p log p                    dH / dz = -p (log p + H)
// and dz/dlogits = 1/tau, d logits = dz W (for h) and dz^T h (for W).
class ChunkedLogprobs : public torch::autograd::Function<ChunkedLogprobs> {
 public:
  // h (B, N, H), w (V, H), targets (B, N) int64 -> {logp (B, N), entropy (B, N)} fp32
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& w,
                               const torch::Tensor& targets, int64_t chunk, double tau) {
    ctx->save_for_backward({h, w, targets});
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["tau"] = tau;
    const torch::ScalarType compute = h.is_cuda() ? torch::kBFloat16 : torch::kFloat;
    const int64_t B = h.size(0), N = h.size(1);
    torch::Tensor logp = torch::empty({B, N}, h.options().dtype(torch::kFloat));
    torch::Tensor entropy = torch::empty({B, N}, h.options().dtype(torch::kFloat));
    for (int64_t s = 0; s < N; s += chunk) {
      const int64_t e = std::min(N, s + chunk);
      const torch::Tensor lsm = torch::log_softmax(chunk_logits(h.slice(1, s, e), w, compute, tau), -1);  // (B, c, V)
      logp.slice(1, s, e).copy_(lsm.gather(-1, targets.slice(1, s, e).unsqueeze(-1)).squeeze(-1));
      entropy.slice(1, s, e).copy_(-(lsm.exp() * lsm).sum(-1));
    }
    return {logp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& h = saved[0];        // (B, N, H)
    const torch::Tensor& w = saved[1];        // (V, H)
    const torch::Tensor& targets = saved[2];  // (B, N)
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const double tau = ctx->saved_data["tau"].toDouble();
    const torch::ScalarType compute = h.is_cuda() ? torch::kBFloat16 : torch::kFloat;
    const torch::Tensor& g_logp = grads[0];     // (B, N)
    const torch::Tensor& g_entropy = grads[1];  // (B, N)
    const int64_t N = h.size(1), V = w.size(0), H = w.size(1);
    torch::Tensor dh = torch::empty_like(h);
    torch::Tensor dw = torch::zeros({V, H}, w.options().dtype(torch::kFloat));
    for (int64_t s = 0; s < N; s += chunk) {
      const int64_t e = std::min(N, s + chunk);
      const torch::Tensor hc = h.slice(1, s, e);                                            // (B, c, H)
      const torch::Tensor lsm = torch::log_softmax(chunk_logits(hc, w, compute, tau), -1);  // (B, c, V)
      const torch::Tensor p = lsm.exp();
      torch::Tensor dz = torch::zeros_like(lsm);                                            // (B, c, V)
      if (g_logp.defined()) {
        const torch::Tensor g = g_logp.slice(1, s, e).unsqueeze(-1).to(torch::kFloat);     // (B, c, 1)
        dz = -p * g;
        dz.scatter_add_(-1, targets.slice(1, s, e).unsqueeze(-1), g);
      }
      if (g_entropy.defined()) {
        const torch::Tensor g = g_entropy.slice(1, s, e).unsqueeze(-1).to(torch::kFloat);  // (B, c, 1)
        const torch::Tensor ent = -(p * lsm).sum(-1, /*keepdim=*/true);                   // (B, c, 1)
        dz = dz - p * (lsm + ent) * g;
      }
      if (tau != 1.0) dz = dz / tau;
      const torch::Tensor dzc = dz.to(compute);
      dh.slice(1, s, e).copy_(torch::matmul(dzc, w.to(compute)));
      dw += torch::matmul(dzc.reshape({-1, V}).t(), hc.reshape({-1, H}).to(compute)).to(torch::kFloat);
    }
    return {dh, dw.to(w.scalar_type()), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

TokenLogProbs token_logprobs(TransformerLm& model, const torch::Tensor& tokens, const torch::Tensor& attention,
                             int64_t chunk, double temperature) {
  core::require(chunk > 0, "token_logprobs: chunk must be positive, got " + std::to_string(chunk));
  core::require(temperature > 0, "token_logprobs: temperature must be positive, got " + std::to_string(temperature));
  // The hand-written CPU kernels (fast_logprobs.h); they need no chunking (the LM head runs in
  // row blocks of their own).
  if (model->fast_path()) return fast_token_logprobs(model, tokens, attention, temperature);
  const torch::Tensor h = model->hidden_states(tokens, attention);  // (B, L, H)
  const int64_t B = tokens.size(0), L = tokens.size(1);
  const torch::Tensor first = torch::zeros({B, 1}, h.options().dtype(torch::kFloat));
  if (L < 2) {
    const torch::Tensor z = torch::zeros({B, L}, h.options().dtype(torch::kFloat));
    return {z, z.clone()};
  }
  // Position t predicts token t + 1: hidden states [0, L-1) score tokens [1, L).
  const variable_list out = ChunkedLogprobs::apply(h.slice(1, 0, L - 1), model->lm_head_weight(),
                                                   tokens.slice(1, 1, L), chunk, temperature);
  return {torch::cat({first, out[0]}, 1), torch::cat({first, out[1]}, 1)};
}

}  // namespace rlpp::nn::lm

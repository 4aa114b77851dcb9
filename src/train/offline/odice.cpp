#include "rlpp/train/offline/odice.h"

#include <algorithm>

namespace rlpp::train::offline {

void OdiceOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("lambda", lambda, "weight of the f* term against (1 - lambda) E[V]", Bounds{0.0, 1.0, true, true});
  b.num("eta", eta, "weight of the backward gradient", Bounds::non_negative());
  b.choice("f_divergence", f_divergence, {"pearson_chi2", "reverse_kl"}, "the f-divergence of the DICE objective");
  b.choice("gradient", gradient, {"orthogonal", "true", "semi"},
           "the value update: orthogonal-gradient (ODICE), true-gradient or semi-gradient");
  b.num("value_learning_rate", value_learning_rate, "Adam learning rate of the value heads", Bounds::positive());
  b.num("policy_learning_rate", policy_learning_rate, "Adam learning rate of the policy", Bounds::positive());
  b.num("policy_weight_decay", policy_weight_decay, "Adam weight decay of the policy", Bounds::non_negative());
  b.num("tau", tau, "Polyak coefficient of the target value network", Bounds::closed(0, 1));
  b.num("max_weight", max_weight, "clip of the behaviour-cloning weights", Bounds::positive());
  b.flag("twin_v", twin_v, "two value heads (V-bar is the minimum of the target heads)");
  b.flag("layer_norm", layer_norm, "LayerNorm after each hidden layer of the value heads");
  b.integers("value_hidden", value_hidden, "hidden widths of the value heads (ReLU)", Bounds::closed(1, 1 << 16));
  b.integers("policy_hidden", policy_hidden, "hidden widths of the policy mean (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor odice_f_star(const torch::Tensor& r, const std::string& f) {
  if (f == "reverse_kl") return (r - 1).exp();
  TORCH_CHECK(f == "pearson_chi2", "odice: unknown f-divergence ", f);
  const torch::Tensor w = (r / 2 + 1).clamp_min(0);
  return r * w - (w - 1).pow(2);
}

torch::Tensor odice_f_prime_inverse(const torch::Tensor& r, const std::string& f) {
  if (f == "reverse_kl") return (r - 1).exp();
  TORCH_CHECK(f == "pearson_chi2", "odice: unknown f-divergence ", f);
  return r.clamp_min(0);
}

torch::Tensor odice_residual(const torch::Tensor& returns, const torch::Tensor& discount, const torch::Tensor& next_v,
                             const torch::Tensor& v) {
  return returns + discount * next_v - v;
}

OdiceValueLosses odice_value_losses(const torch::Tensor& returns, const torch::Tensor& discount,
                                    const torch::Tensor& v, const torch::Tensor& next_v,
                                    const torch::Tensor& target_v, const torch::Tensor& target_next_v,
                                    double lambda, double eta, const std::string& f) {
  const torch::Tensor fwd = odice_residual(returns, discount, target_next_v.detach(), v);   // (K, B)
  const torch::Tensor bwd = odice_residual(returns, discount, next_v, target_v.detach());   // (K, B)
  const torch::Tensor both = odice_residual(returns, discount, next_v, v);                  // (K, B)
  OdiceValueLosses out;
  out.linear = ((1 - lambda) * v).mean();
  out.forward = (lambda * odice_f_star(fwd, f)).mean();
  out.backward = (lambda * eta * odice_f_star(bwd, f)).mean();
  out.true_dual = (lambda * odice_f_star(both, f)).mean();
  out.forward_residual = fwd.detach();
  return out;
}

std::vector<torch::Tensor> odice_orthogonal_combine(const std::vector<torch::Tensor>& g_forward,
                                                    const std::vector<torch::Tensor>& g_backward, double* parallel) {
  TORCH_CHECK(g_forward.size() == g_backward.size(), "odice: ", g_forward.size(), " forward vs ", g_backward.size(),
              " backward gradients");
  double dot = 0, norm2 = 0;  // accumulated in double over the parameters
  for (size_t i = 0; i < g_forward.size(); ++i) {
    dot += (g_forward[i].to(torch::kFloat64) * g_backward[i].to(torch::kFloat64)).sum().item<double>();
    norm2 += g_forward[i].to(torch::kFloat64).pow(2).sum().item<double>();
  }
  const double c = dot / std::max(norm2, 1e-10);
  if (parallel) *parallel = c;
  std::vector<torch::Tensor> out;
  out.reserve(g_forward.size());
  for (size_t i = 0; i < g_forward.size(); ++i) out.push_back(g_forward[i] * (1 - c) + g_backward[i]);
  return out;
}

namespace {
std::vector<torch::Tensor> grads_of(const torch::Tensor& loss, const std::vector<torch::Tensor>& params, bool retain) {
  std::vector<torch::Tensor> g = torch::autograd::grad({loss}, params, /*grad_outputs=*/{}, /*retain_graph=*/retain,
                                                       /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t i = 0; i < g.size(); ++i)
    if (!g[i].defined()) g[i] = torch::zeros_like(params[i]);
  return g;
}
}  // namespace

double odice_value_gradient(const std::vector<torch::Tensor>& params, const OdiceValueLosses& losses,
                            const std::string& gradient) {
  std::vector<torch::Tensor> g;
  double parallel = 0;
  if (gradient == "orthogonal") {
    const auto gl = grads_of(losses.linear, params, true);
    const auto gf = grads_of(losses.forward, params, true);
    const auto gb = grads_of(losses.backward, params, true);
    g = odice_orthogonal_combine(gf, gb, &parallel);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] + gl[i];
  } else if (gradient == "true") {
    g = grads_of(losses.linear + losses.true_dual, params, true);
  } else {
    TORCH_CHECK(gradient == "semi", "odice: unknown gradient ", gradient);
    g = grads_of(losses.linear + losses.forward, params, true);
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor p = params[i];
    p.mutable_grad() = g[i].detach().clone();
  }
  return parallel;
}

torch::Tensor odice_policy_loss(const torch::Tensor& logp, const torch::Tensor& forward_residual, const std::string& f,
                                double max_weight) {
  torch::Tensor w = odice_f_prime_inverse(forward_residual.detach(), f).clamp_max(max_weight);  // (K, B) or (B)
  if (w.dim() == 2) w = w.mean(0);
  return -(w * logp).mean();
}

}  // namespace rlpp::train::offline

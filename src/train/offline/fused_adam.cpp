#include "rlpp/train/offline/fused_adam.h"

// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX intrinsics when
// Eigen's kernels are inlined (as in offpolicy/fast_mlp.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <cmath>
#include <memory>
#include <string>


namespace rlpp::train::offline {

void fused_adam_step(torch::optim::Adam& opt) {
  torch::NoGradGuard no_grad;
  for (auto& group : opt.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    TORCH_CHECK(!o.amsgrad(), "fused_adam_step: amsgrad is not supported");
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    const float c1 = static_cast<float>(1 - beta1), c2 = static_cast<float>(1 - beta2);
    const float wd = static_cast<float>(o.weight_decay()), eps = static_cast<float>(o.eps());
    for (torch::Tensor& p : group.params()) {
      const torch::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      TORCH_CHECK(p.scalar_type() == torch::kFloat32 && p.is_contiguous() && grad.scalar_type() == torch::kFloat32 &&
                      grad.is_contiguous() && grad.numel() == p.numel(),
                  "fused_adam_step: float32 contiguous parameters and gradients only");
      const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());  // step()'s key
      auto it = opt.state().find(key);
      if (it == opt.state().end()) {
        auto st = std::make_unique<torch::optim::AdamParamState>();
        st->step(0);
        st->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        st->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = opt.state().emplace(key, std::move(st)).first;
      }
      auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
      st.step(st.step() + 1);
      const double bc1 = 1 - std::pow(beta1, static_cast<double>(st.step()));
      const double bc2 = 1 - std::pow(beta2, static_cast<double>(st.step()));
      const float step_size = static_cast<float>(o.lr() / bc1), sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
      // Three vectorised passes (m, v, then θ from both) instead of step()'s ten.
      const int64_t n = p.numel();
      Eigen::Map<Eigen::ArrayXf> w(p.data_ptr<float>(), n), m(st.exp_avg().data_ptr<float>(), n),
          v(st.exp_avg_sq().data_ptr<float>(), n);
      Eigen::Map<const Eigen::ArrayXf> g(grad.data_ptr<float>(), n);
      if (wd != 0.0f) {
        m = m * b1 + c1 * (g + wd * w);
        v = v * b2 + c2 * (g + wd * w).square();
      } else {
        m = m * b1 + c1 * g;
        v = v * b2 + c2 * g.square();
      }
      w -= step_size * (m / (v.sqrt() / sqrt_bc2 + eps));
    }
  }
}

}  // namespace rlpp::train::offline

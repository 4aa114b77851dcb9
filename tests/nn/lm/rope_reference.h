// RoPE inverse frequencies written out again in double precision (formulas of the RoPE paper and
// Hugging Face's modeling_rope_utils.py), the reference of the rope and transformer tests.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "rlpp/nn/lm/config.h"

namespace rlpp::nn::lm::test_ref {

// The reference: frequencies by kind, as the paper / transformers define them.
inline std::vector<double> reference_inv_freq(const LmConfig& c, int64_t seq_len, double* attention_factor) {
  const int d = static_cast<int>(c.resolved_head_dim());
  const RopeScaling& r = c.rope_scaling;
  const double l0 = r.original_max_position_embeddings > 0 ? r.original_max_position_embeddings : c.max_position_embeddings;
  double theta = c.rope_theta;
  if (r.kind == "dynamic" && seq_len > l0) theta *= std::pow(r.factor * seq_len / l0 - (r.factor - 1), d / (d - 2.0));
  std::vector<double> f;
  for (int i = 0; i < d; i += 2) f.push_back(std::pow(theta, -static_cast<double>(i) / d));
  *attention_factor = 1.0;
  if (r.kind == "linear") {
    for (double& x : f) x = x / r.factor;
  } else if (r.kind == "llama3") {
    for (double& x : f) {
      const double wavelen = 2 * M_PI / x;
      if (wavelen < l0 / r.high_freq_factor) continue;  // high frequency: kept
      if (wavelen > l0 / r.low_freq_factor) {            // low frequency: interpolated
        x = x / r.factor;
        continue;
      }
      const double smooth = (l0 / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      x = (1 - smooth) * x / r.factor + smooth * x;
    }
  } else if (r.kind == "yarn") {
    // dimension index at which the wavelength makes `rot` full turns over l0
    auto dim_for = [&](double rot) { return d * std::log(l0 / (rot * 2 * M_PI)) / (2 * std::log(c.rope_theta)); };
    double lo = std::max(0.0, std::floor(dim_for(r.beta_fast)));
    double hi = std::min(d - 1.0, std::ceil(dim_for(r.beta_slow)));
    if (lo == hi) hi += 0.001;
    for (size_t i = 0; i < f.size(); ++i) {
      double ramp = (static_cast<double>(i) - lo) / (hi - lo);
      ramp = ramp < 0 ? 0 : (ramp > 1 ? 1 : ramp);
      f[i] = f[i] * (1 - ramp) + f[i] / r.factor * ramp;
    }
    *attention_factor = r.attention_factor > 0 ? r.attention_factor : 0.1 * std::log(r.factor) + 1;
  }
  return f;
}

}  // namespace rlpp::nn::lm::test_ref

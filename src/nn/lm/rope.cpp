#include "rlpp/nn/lm/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rlpp::nn::lm {

namespace {

std::vector<double> default_inv_freq(double theta, int64_t d) {
  std::vector<double> f(static_cast<size_t>(d / 2));
  for (int64_t i = 0; i < d / 2; ++i) f[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / d);
  return f;
}

// YaRN: the (fractional) dimension index whose wavelength completes `rotations` turns over L0.
double yarn_correction_dim(double rotations, int64_t d, double theta, double l0) {
  return d * std::log(l0 / (rotations * 2.0 * M_PI)) / (2.0 * std::log(theta));
}

// YaRN / DeepSeek attention temperature: 0.1 m ln(s) + 1 (1 when s <= 1).
double yarn_mscale(double s, double m) { return s <= 1.0 ? 1.0 : 0.1 * m * std::log(s) + 1.0; }

}  // namespace

RopeFrequencies rope_frequencies(const LmConfig& cfg, int64_t seq_len) {
  const int64_t d = cfg.resolved_head_dim();
  const RopeScaling& r = cfg.rope_scaling;
  const double l0 = static_cast<double>(r.original_max_position_embeddings > 0 ? r.original_max_position_embeddings
                                                                               : cfg.max_position_embeddings);
  std::vector<double> f = default_inv_freq(cfg.rope_theta, d);
  double attention_factor = 1.0;
  if (r.kind == "linear") {
    for (double& x : f) x /= r.factor;
  } else if (r.kind == "dynamic") {
    if (static_cast<double>(seq_len) > l0) {
      const double theta = cfg.rope_theta * std::pow(r.factor * seq_len / l0 - (r.factor - 1.0),
                                                     static_cast<double>(d) / (d - 2.0));
      f = default_inv_freq(theta, d);
    }
  } else if (r.kind == "llama3") {
    const double low_wavelen = l0 / r.low_freq_factor;    // longer than this: fully interpolated
    const double high_wavelen = l0 / r.high_freq_factor;  // shorter than this: unchanged
    for (double& x : f) {
      const double wavelen = 2.0 * M_PI / x;
      if (wavelen > low_wavelen) {
        x /= r.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (l0 / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        x = (1.0 - smooth) * x / r.factor + smooth * x;
      }
    }
  } else if (r.kind == "yarn") {
    double low = std::floor(yarn_correction_dim(r.beta_fast, d, cfg.rope_theta, l0));
    double high = std::ceil(yarn_correction_dim(r.beta_slow, d, cfg.rope_theta, l0));
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(d - 1));
    if (low == high) high += 0.001;  // avoids a zero-width ramp
    for (size_t i = 0; i < f.size(); ++i) {
      const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      const double extrapolation = 1.0 - ramp;  // weight of the original frequency
      f[i] = f[i] / r.factor * (1.0 - extrapolation) + f[i] * extrapolation;
    }
    if (r.attention_factor > 0) {
      attention_factor = r.attention_factor;
    } else if (r.mscale > 0 && r.mscale_all_dim > 0) {
      attention_factor = yarn_mscale(r.factor, r.mscale) / yarn_mscale(r.factor, r.mscale_all_dim);
    } else {
      attention_factor = yarn_mscale(r.factor, 1.0);
    }
  }
  RopeFrequencies out;
  out.inv_freq = torch::tensor(f, torch::kDouble);
  out.attention_factor = attention_factor;
  return out;
}

std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& positions, const torch::Tensor& inv_freq,
                                                     double attention_factor) {
  const torch::Tensor f = inv_freq.to(positions.device(), torch::kFloat);           // (d/2)
  const torch::Tensor angles = positions.to(torch::kFloat).unsqueeze(-1) * f;        // (B, T, d/2)
  const torch::Tensor emb = torch::cat({angles, angles}, -1);                        // (B, T, d)
  torch::Tensor cos = emb.cos();
  torch::Tensor sin = emb.sin();
  if (attention_factor != 1.0) {
    cos = cos * attention_factor;
    sin = sin * attention_factor;
  }
  return {cos, sin};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const torch::Tensor c = cos.unsqueeze(1).to(x.scalar_type());  // (B, 1, T, d)
  const torch::Tensor s = sin.unsqueeze(1).to(x.scalar_type());
  const torch::Tensor rotated = torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);  // rotate_half
  return x * c + rotated * s;
}

}  // namespace rlpp::nn::lm

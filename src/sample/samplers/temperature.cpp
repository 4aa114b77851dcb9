// Temperature: softmax(logits / T); T -> 0 is the argmax, taken exactly as greedy decoding.
#include <limits>

#include "rlpp/core/error.h"
#include "rlpp/sample/samplers.h"
#include "sample/samplers/builtin.h"

namespace rlpp::sample {

torch::Tensor greedy_logits(const torch::Tensor& logits) {
  // argmax returns the first maximal index: ties go to the lower token id.
  const torch::Tensor idx = logits.argmax(/*dim=*/-1, /*keepdim=*/true);  // (B, 1)
  return torch::full_like(logits, -std::numeric_limits<float>::infinity())
      .scatter(/*dim=*/1, idx, logits.gather(/*dim=*/1, idx));
}

torch::Tensor temperature_logits(const torch::Tensor& logits, const torch::Tensor& temperature) {
  core::require(temperature.dim() == 1 && temperature.size(0) == logits.size(0),
                "temperature sampler: per-row temperature must have shape (" + std::to_string(logits.size(0)) +
                    "), got " + std::to_string(temperature.dim()) + " dims");
  const torch::Tensor t = temperature.to(logits.options()).unsqueeze(1);  // (B, 1)
  const torch::Tensor scaled = logits / torch::where(t > 0, t, torch::ones_like(t));
  return torch::where(t > 0, scaled, greedy_logits(logits));
}

torch::Tensor row_temperature(const torch::Tensor& logits, const SampleContext& ctx, double fallback) {
  if (!ctx.temperature.defined()) {
    return torch::full({logits.size(0)}, fallback, logits.options().dtype(torch::kFloat));
  }
  core::require(ctx.temperature.dim() == 1 && ctx.temperature.size(0) == logits.size(0),
                "sampler: per-row temperature must have shape (" + std::to_string(logits.size(0)) + ")");
  return ctx.temperature.to(logits.device(), torch::kFloat);
}

namespace {

class TemperatureSampler final : public Sampler {
 public:
  explicit TemperatureSampler(TemperatureOptions opts) : opts_(opts) {}
  torch::Tensor apply(const torch::Tensor& logits, const SampleContext& ctx) const override {
    if (!ctx.temperature.defined() && opts_.temperature == 1.0) return logits;
    return temperature_logits(logits, row_temperature(logits, ctx, opts_.temperature));
  }

 private:
  TemperatureOptions opts_;
};

}  // namespace

SamplerFactory temperature_sampler() { return algo::factory_of<Sampler, TemperatureSampler, TemperatureOptions>(); }

}  // namespace rlpp::sample

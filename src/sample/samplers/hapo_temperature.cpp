// HAPO's entropy-adaptive sampling temperature (arXiv 2509.16591, include/rlpp/algo/objectives/hapo.h
// step 2): rows whose next-token distribution is uncertain ("forking" tokens) are explored more.
#include "rlpp/sample/samplers.h"
#include "sample/samplers/builtin.h"

namespace rlpp::sample {

torch::Tensor logits_entropy(const torch::Tensor& logits) {
  const torch::Tensor logp = torch::log_softmax(logits.to(torch::kFloat), /*dim=*/-1);  // (B, V)
  const torch::Tensor p = logp.exp();
  // where, not p * logp: a -inf logit gives 0 * -inf = NaN.
  return -torch::where(p > 0, p * logp, torch::zeros_like(p)).sum(/*dim=*/-1);  // (B)
}

torch::Tensor hapo_row_temperature(const torch::Tensor& logits, const torch::Tensor& base_temperature,
                                   const algo::EntropyNormStats* stats, double tau_t) {
  if (stats == nullptr) return base_temperature;  // ĥ = 0 until the trainer has statistics
  // T0 (1 + tau_t ĥ) = T0 * hapo_adaptive_temperature(H, stats, 1, tau_t), so T0 may vary by row.
  return base_temperature *
         algo::hapo_adaptive_temperature(logits_entropy(logits), *stats, /*temperature=*/1.0, tau_t)
             .to(base_temperature.dtype());
}

namespace {

class HapoTemperatureSampler final : public Sampler {
 public:
  explicit HapoTemperatureSampler(HapoTemperatureOptions opts) : opts_(opts) {}
  torch::Tensor apply(const torch::Tensor& logits, const SampleContext& ctx) const override {
    const torch::Tensor t0 = row_temperature(logits, ctx, opts_.temperature);  // (B)
    return temperature_logits(logits, hapo_row_temperature(logits, t0, ctx.entropy_stats, opts_.tau_t));
  }

 private:
  HapoTemperatureOptions opts_;
};

}  // namespace

SamplerFactory hapo_temperature_sampler() {
  return algo::factory_of<Sampler, HapoTemperatureSampler, HapoTemperatureOptions>();
}

}  // namespace rlpp::sample

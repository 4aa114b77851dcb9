#include "rlpp/sample/sampler_chain.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>
#include <mutex>

#include "rlpp/core/error.h"

namespace rlpp::sample {

at::Generator make_generator(torch::Device device, uint64_t seed) {
  if (device.is_cpu()) return at::detail::createCPUGenerator(seed);
  at::Generator global = at::globalContext().defaultGenerator(device);  // a handle: shares the state
  at::Generator g;
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    g = global.clone();
  }
  g.set_current_seed(seed);
  return g;
}

torch::Tensor draw(const torch::Tensor& logits, at::Generator& generator) {
  const torch::Tensor probs = torch::softmax(logits, /*dim=*/-1);  // (B, V), 0 at -inf
  // (B, V) E_i ~ Exp(1); the kernel locks the generator itself.
  torch::Tensor race = torch::empty_like(probs).exponential_(/*lambd=*/1.0, generator);
  // P(argmax_i p_i / E_i = j) = p_j: the first of independent exponential clocks with rates p_i.
  // Some backends return E = 0 with tiny probability; the floor keeps 0 / E = 0 for removed tokens
  // (0 / 0 would be NaN, which argmax picks) and p / E finite.
  race.clamp_min_(std::numeric_limits<float>::min());
  return (probs / race).argmax(/*dim=*/-1);  // (B)
}

void SamplerChain::add(std::string name, std::shared_ptr<const Sampler> sampler) {
  names_.push_back(std::move(name));
  samplers_.push_back(std::move(sampler));
}

torch::Tensor SamplerChain::process(const torch::Tensor& logits, const SampleContext& ctx) const {
  core::require(logits.dim() == 2, "sampler chain: logits must be (B, V), got " + std::to_string(logits.dim()) + " dims");
  torch::Tensor x = logits.to(torch::kFloat);
  for (const auto& s : samplers_) x = s->apply(x, ctx);
  return x;
}

SampleResult SamplerChain::sample(const torch::Tensor& logits, at::Generator& generator,
                                  const SampleContext& ctx) const {
  const torch::Tensor raw = logits.to(torch::kFloat);  // (B, V)
  const torch::Tensor final_logits = process(raw, ctx);  // (B, V)
  SampleResult out;
  out.tokens = draw(final_logits, generator);
  const torch::Tensor idx = out.tokens.unsqueeze(1);  // (B, 1)
  out.logp_sample = torch::log_softmax(final_logits, /*dim=*/-1).gather(/*dim=*/1, idx).squeeze(1);
  const torch::Tensor logp_raw = torch::log_softmax(raw, /*dim=*/-1);  // (B, V)
  out.logp = logp_raw.gather(/*dim=*/1, idx).squeeze(1);
  const torch::Tensor p = logp_raw.exp();
  out.entropy = -torch::where(p > 0, p * logp_raw, torch::zeros_like(p)).sum(/*dim=*/-1);
  return out;
}

SamplerChain build_chain(const std::vector<std::string>& names, core::Binder& b) {
  SamplerChain chain;
  for (const auto& name : names) {
    std::unique_ptr<Sampler> s = sampler_registry().get(name)(b);
    chain.add(name, std::shared_ptr<const Sampler>(std::move(s)));
  }
  return chain;
}

SamplerChain default_chain(const std::vector<std::string>& names) {
  const core::Recipe empty;
  core::Binder b = core::Binder::reader(empty, "sample");
  return build_chain(names, b);
}

SamplerChain temperature_chain(double temperature) {
  core::Recipe r;
  toml::table sample;
  sample.insert("temperature", temperature);
  r.table().insert("sample", sample);
  core::Binder b = core::Binder::reader(r, "sample");
  return build_chain({"temperature"}, b);
}

}  // namespace rlpp::sample

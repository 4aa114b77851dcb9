#include "rlpp/sample/sampler.h"

#include "sample/samplers/builtin.h"

namespace rlpp::sample {

core::Registry<SamplerFactory>& sampler_registry() {
  static core::Registry<SamplerFactory> registry = [] {
    core::Registry<SamplerFactory> r("sampler");
    r.add("temperature", temperature_sampler(), "logits / T; T = 0 is greedy (argmax)");
    r.add("top_k", top_k_sampler(), "keep the k most probable tokens");
    r.add("top_p", top_p_sampler(), "nucleus: smallest set with probability >= p (arXiv 1904.09751)");
    r.add("min_p", min_p_sampler(), "keep tokens with p >= min_p * p_max (arXiv 2407.01082)");
    r.add("hapo_temperature", hapo_temperature_sampler(),
          "entropy-adaptive temperature T (1 + tau_t h) (HAPO, arXiv 2509.16591)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_samplers() { return algo::listing(sampler_registry()); }

}  // namespace rlpp::sample

#include "rlpp/search/temperature_chain.h"

#include <string>

#include "rlpp/core/config.h"

namespace rlpp::search {

sample::SamplerChain temperature_chain(double temperature) {
  const core::Recipe r = core::Recipe::parse("[s]\ntemperature = " + std::to_string(temperature) + "\n", "search");
  core::Binder b = core::Binder::reader(r, "s");
  sample::SamplerChain chain = sample::build_chain({"temperature"}, b);
  b.finish();
  return chain;
}

}  // namespace rlpp::search

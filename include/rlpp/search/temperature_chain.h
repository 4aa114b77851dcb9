// The sampler chain of the searches: temperature only (T = 0: greedy), built through the sampler
// registry so it is the same object the trainers use.
#pragma once
#include "rlpp/sample/sampler_chain.h"

namespace rlpp::search {

sample::SamplerChain temperature_chain(double temperature);

}  // namespace rlpp::search

// Factories of the built-in samplers, one per file in this folder; registered in sampler_registry.cpp.
#pragma once
#include "rlpp/sample/sampler.h"

namespace rlpp::sample {

SamplerFactory temperature_sampler();
SamplerFactory top_k_sampler();
SamplerFactory top_p_sampler();
SamplerFactory min_p_sampler();
SamplerFactory hapo_temperature_sampler();

// (B) fp32 temperatures: ctx.temperature when given (checked against B), else `fallback` per row.
torch::Tensor row_temperature(const torch::Tensor& logits, const SampleContext& ctx, double fallback);

}  // namespace rlpp::sample

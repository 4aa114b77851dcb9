// The built-in samplers: pure functions on logits (B, V) fp32 plus the options that configure them
// in a recipe. A recipe lists the chain as an array of tables, one per sampler in the order they
// apply, each with its own options (programmatic chains, build_chain, read them flat):
//   [[samplers]]
//   name = "top_k"
//   top_k = 40
//   [[samplers]]
//   name = "top_p"
//   top_p = 0.95
//   [[samplers]]
//   name = "temperature"
//   temperature = 1.0
// Defaults are llama.cpp's (top_k 40, top_p 0.95, min_p 0.05) except temperature = 1, which is the
// policy itself (what on-policy RL samples from; llama.cpp's 0.8 is a chat default).
// Ties are broken toward the lower token id everywhere, so every result is deterministic.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/core/config.h"

namespace rlpp::sample {

// Keeps only the first maximal logit of every row: T = 0.
torch::Tensor greedy_logits(const torch::Tensor& logits);  // (B, V) -> (B, V)

// logits / T per row; rows with T = 0 become greedy_logits.
torch::Tensor temperature_logits(const torch::Tensor& logits,       // (B, V)
                                 const torch::Tensor& temperature);  // (B) fp32, >= 0

// Keeps the k largest logits of every row (exactly k when finite; lower ids win ties); k <= 0 or
// k >= V keeps all.
torch::Tensor top_k_logits(const torch::Tensor& logits, int64_t k);

// Nucleus (Holtzman et al., arXiv 1904.09751): sort by probability (lower ids first among equals)
// and keep the shortest prefix whose probability sum is >= p; the first token is always kept.
// p >= 1 keeps all. The cumulative sum is in double so that hand-computed boundaries hold.
torch::Tensor top_p_logits(const torch::Tensor& logits, double p);

// min-p (arXiv 2407.01082): keeps tokens with p_i >= min_p * p_max, i.e. logit_i >= max + log(min_p).
// min_p = 0 keeps all.
torch::Tensor min_p_logits(const torch::Tensor& logits, double min_p);

// Entropy H = -sum_i p_i log p_i of softmax(logits) per row (B), with 0 log 0 = 0 for -inf logits.
torch::Tensor logits_entropy(const torch::Tensor& logits);

// HAPO's entropy-adaptive temperature (arXiv 2509.16591): T_b = T0_b * (1 + tau_t * ĥ_b), ĥ_b the
// normalised entropy of row b's current logits under `stats` (algo::hapo_adaptive_temperature);
// stats null: ĥ = 0. Returns the per-row temperatures (B); apply them with temperature_logits.
torch::Tensor hapo_row_temperature(const torch::Tensor& logits,          // (B, V)
                                   const torch::Tensor& base_temperature,  // (B) T0
                                   const algo::EntropyNormStats* stats, double tau_t);

// ---- options -----------------------------------------------------------------------------------

struct TemperatureOptions {
  double temperature = 1.0;
  void bind(core::Binder& b) {
    b.num("temperature", temperature, "sampling temperature; 0 = greedy (argmax)", core::Bounds::non_negative());
  }
};

struct TopKOptions {
  int64_t top_k = 40;
  void bind(core::Binder& b) {
    b.integer("top_k", top_k, "keep the k most probable tokens; 0 = all", core::Bounds::at_least(0));
  }
};

struct TopPOptions {
  double top_p = 0.95;
  void bind(core::Binder& b) {
    b.num("top_p", top_p, "nucleus: keep the smallest set with probability >= top_p; 1 = all",
          core::Bounds{0.0, 1.0, true, false});
  }
};

struct MinPOptions {
  double min_p = 0.05;
  void bind(core::Binder& b) {
    b.num("min_p", min_p, "keep tokens with p >= min_p * p_max; 0 = all", core::Bounds::unit());
  }
};

struct HapoTemperatureOptions {
  double temperature = 1.0;  // T0, shared with the plain temperature sampler
  double tau_t = 0.05;       // HAPO's tau_T
  void bind(core::Binder& b) {
    b.num("temperature", temperature, "sampling temperature; 0 = greedy (argmax)", core::Bounds::non_negative());
    b.num("tau_t", tau_t, "entropy-adaptive temperature T (1 + tau_t h)", core::Bounds{0.0, 1.0, false, true});
  }
};

}  // namespace rlpp::sample

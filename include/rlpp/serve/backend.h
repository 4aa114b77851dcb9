// What the server needs from a model: a tokenizer, a context length and one call that generates a
// batch of ragged prompts. The scheduler (scheduler.h) is the only caller of generate(), from one
// thread, so a backend needs no locking. LmBackend (lm_backend.h) runs an rlpp language model
// through the generation engine; tests plug in backends whose output is known in advance.
#pragma once
#include <cstdint>
#include <vector>

#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::serve {

// One row of a batch: one prompt with its own token budget and temperature.
struct RowSpec {
  std::vector<int64_t> prompt;  // non-empty token ids
  int64_t max_new_tokens = 1;   // >= 1
  double temperature = 1.0;     // 0 = greedy
};

// Rows that share the batch-wide sampler settings (the scheduler groups requests so that they do).
struct BatchSpec {
  std::vector<RowSpec> rows;
  double top_p = 1.0;  // nucleus mass, in (0, 1]
  uint64_t seed = 0;   // the batch's sampling seed
};

struct RowOutput {
  std::vector<int64_t> tokens;  // every generated token, the stop token included
  bool stopped = false;         // true: ended at a stop token ("stop"); false: ran out of budget ("length")
};

class Backend {
 public:
  virtual ~Backend() = default;
  // One output per row, in order. May throw; the scheduler turns that into a 500 for the batch.
  virtual std::vector<RowOutput> generate(const BatchSpec& batch) = 0;
  virtual const nn::Tokenizer& tokenizer() const = 0;
  // Longest prompt + completion the model accepts (its max_position_embeddings); 0 = no limit.
  virtual int64_t context_length() const = 0;
};

}  // namespace rlpp::serve

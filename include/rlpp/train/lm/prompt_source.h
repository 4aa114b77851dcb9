// Where the rlvr trainer's prompts come from.
//   pool_size = 0:  a fresh task instance every time (ids 0, 1, 2, … in order of drawing: a prompt
//                   is never seen twice);
//   pool_size = P:  a fixed training set of P instances, drawn once from the task with its own seed,
//                   ids 0..P−1, so that per-prompt statistics (SPO's tracker, Knapsack's success
//                   estimates) accumulate across steps. Drawn in shuffled epochs ("uniform"), or with
//                   probability ∝ a tracker's weight sqrt(p̂(1 − p̂)) + floor ("prioritized", SPO
//                   arXiv 2509.13232 §3.3), without replacement within a call.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/algo/spo.h"
#include "rlpp/core/rng.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/lm_data.h"

namespace rlpp::train::lm {

struct PromptPick {
  std::vector<int64_t> ids;            // (k) prompt ids
  std::vector<TextExample> examples;   // (k)
};

class PromptSource {
 public:
  // pool_seed seeds the draw of the pool (unused when pool_size = 0).
  PromptSource(LmData* data, int64_t pool_size, uint64_t pool_seed);

  // k prompts. `priority` (prioritized sampling) may be null: uniform. k ≤ pool_size when prioritized.
  PromptPick next(int64_t k, core::Rng& rng, const algo::SpoTracker* priority = nullptr);

  int64_t pool_size() const { return static_cast<int64_t>(pool_.size()); }
  const TextExample& example(int64_t id) const { return pool_.at(static_cast<size_t>(id)); }

  void save(CheckpointWriter& w) const;
  void load(CheckpointReader& r);

 private:
  LmData* data_;
  std::vector<TextExample> pool_;
  int64_t fresh_count_ = 0;        // ids handed out to fresh prompts
  std::vector<int64_t> order_;     // the current epoch's order of pool ids
  int64_t cursor_ = 0;
};

}  // namespace rlpp::train::lm

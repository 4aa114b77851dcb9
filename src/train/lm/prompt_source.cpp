#include "rlpp/train/lm/prompt_source.h"

#include "rlpp/core/error.h"

namespace rlpp::train::lm {

PromptSource::PromptSource(LmData* data, int64_t pool_size, uint64_t pool_seed) : data_(data) {
  core::Rng pool_rng(pool_seed);
  for (int64_t i = 0; i < pool_size; ++i) pool_.push_back(data_->next(pool_rng));
}

PromptPick PromptSource::next(int64_t k, core::Rng& rng, const algo::SpoTracker* priority) {
  PromptPick out;
  if (pool_.empty()) {
    for (int64_t i = 0; i < k; ++i) {
      out.ids.push_back(fresh_count_++);
      out.examples.push_back(data_->next(rng));
    }
    return out;
  }
  const auto P = static_cast<int64_t>(pool_.size());
  if (priority) {
    core::require(k <= P, "rl.prompt_pool = " + std::to_string(P) + " is smaller than the " + std::to_string(k) +
                              " prompts a prioritized step draws");
    std::vector<int64_t> all(static_cast<size_t>(P));
    for (int64_t i = 0; i < P; ++i) all[static_cast<size_t>(i)] = i;
    out.ids = priority->sample_prompts(all, k, rng.next_u64());
  } else {
    for (int64_t i = 0; i < k; ++i) {
      if (cursor_ >= static_cast<int64_t>(order_.size())) {  // a new epoch in a fresh order
        order_.resize(static_cast<size_t>(P));
        for (int64_t j = 0; j < P; ++j) order_[static_cast<size_t>(j)] = j;
        rng.shuffle(order_.data(), P);
        cursor_ = 0;
      }
      out.ids.push_back(order_[static_cast<size_t>(cursor_++)]);
    }
  }
  for (int64_t id : out.ids) out.examples.push_back(pool_[static_cast<size_t>(id)]);
  return out;
}

void PromptSource::save(CheckpointWriter& w) const {
  w.put_int("prompts/fresh_count", fresh_count_);
  w.put_int("prompts/order_size", static_cast<int64_t>(order_.size()));
  w.put_ints("prompts/order", order_);
  w.put_int("prompts/cursor", cursor_);
}

void PromptSource::load(CheckpointReader& r) {
  fresh_count_ = r.get_int("prompts/fresh_count");
  const int64_t n = r.get_int("prompts/order_size");
  core::require(n == 0 || n == static_cast<int64_t>(pool_.size()),
                "checkpoint '" + r.path() + "': its prompt order covers " + std::to_string(n) +
                    " prompts, rl.prompt_pool is " + std::to_string(pool_.size()));
  order_ = r.get_ints("prompts/order", static_cast<size_t>(n));
  cursor_ = r.get_int("prompts/cursor");
}

}  // namespace rlpp::train::lm

// Small language batches for the selector tests: values are read back element by element in double
// so the references in the tests are plain loops.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

#include "rlpp/algo/selector.h"

namespace rlpp::algo::sel_test {

constexpr int64_t kB = 6;
constexpr int64_t kL = 5;

inline double at(const torch::Tensor& t, int64_t i, int64_t j) { return t.index({i, j}).item<double>(); }
inline double at(const torch::Tensor& t, int64_t i) { return t.index({i}).item<double>(); }

// Row lengths 5, 3, 1, 0, 4, 2 (row 3 empty); groups {0, 1, 4} id 7 and {2, 3, 5} id 2; random A,
// H, logp, logp_old at every position (valid or not).
inline SelectionInput random_input(uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 2.0);
  const std::vector<int64_t> len = {5, 3, 1, 0, 4, 2};
  SelectionInput in;
  in.mask = torch::zeros({kB, kL});
  in.advantages = torch::zeros({kB, kL});
  in.entropy = torch::zeros({kB, kL});
  in.logp = torch::zeros({kB, kL});
  in.logp_old = torch::zeros({kB, kL});
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      in.mask.index_put_({i, t}, t < len[static_cast<size_t>(i)] ? 1.0 : 0.0);
      in.advantages.index_put_({i, t}, n(gen));
      in.entropy.index_put_({i, t}, u(gen));
      const double lp = -u(gen);
      in.logp.index_put_({i, t}, lp);
      in.logp_old.index_put_({i, t}, lp + 0.6 * n(gen));
    }
  }
  in.seq_rewards = torch::tensor({1.0f, 0.0f, 0.5f, 0.5f, 1.0f, 0.5f});
  in.group_ids = torch::tensor(std::vector<int64_t>{7, 7, 2, 2, 7, 2});
  in.lengths = torch::tensor(std::vector<float>{5, 3, 1, 0, 4, 2});
  in.truncated = torch::tensor(std::vector<int64_t>{0, 1, 0, 0, 1, 0}).to(torch::kBool);
  return in;
}

// `in` with 1e6 written at every masked position of the token tensors.
inline SelectionInput with_garbage(SelectionInput in) {
  const torch::Tensor invalid = in.mask < 0.5;
  for (torch::Tensor* t : {&in.advantages, &in.entropy, &in.logp, &in.logp_old}) {
    *t = torch::where(invalid, torch::full({}, 1e6), *t);
  }
  return in;
}

}  // namespace rlpp::algo::sel_test

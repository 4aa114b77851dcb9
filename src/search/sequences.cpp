#include "rlpp/search/sequences.h"

#include <algorithm>

namespace rlpp::search {

std::pair<torch::Tensor, torch::Tensor> pad_rows(const std::vector<const Tokens*>& rows) {
  size_t len = 0;
  for (const Tokens* r : rows) len = std::max(len, r->size());
  const int64_t B = static_cast<int64_t>(rows.size()), L = static_cast<int64_t>(len);
  torch::Tensor tokens = torch::zeros({B, L}, torch::kLong);  // (B, L)
  torch::Tensor att = torch::zeros({B, L}, torch::kBool);     // (B, L)
  auto t = tokens.accessor<int64_t, 2>();
  auto a = att.accessor<bool, 2>();
  for (int64_t i = 0; i < B; ++i)
    for (size_t j = 0; j < rows[static_cast<size_t>(i)]->size(); ++j) {
      t[i][static_cast<int64_t>(j)] = (*rows[static_cast<size_t>(i)])[j];
      a[i][static_cast<int64_t>(j)] = true;
    }
  return {tokens, att};
}

}  // namespace rlpp::search

// List operations on short lists of small integers: "sort 3,1,2:" -> "1,2,3"; also reverse and
// dedupe (keep first occurrences). The worked solution is the answer itself (the operation has no
// useful intermediate lines at this size).
#pragma once
#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

struct ListOpsOptions {
  int64_t min_len = 2;
  int64_t max_len = 6;
  int64_t max_value = 9;           // elements are drawn from [0, max_value]
  std::string ops = "sort,reverse,dedupe";

  void bind(core::Binder& b);
};

class ListOpsTask : public TextTask {
 public:
  explicit ListOpsTask(const ListOpsOptions& opts);
  TaskInstance sample(core::Rng& rng) const override;
  std::string alphabet() const override;

 private:
  ListOpsOptions opts_;
  std::vector<std::string> ops_;
};

}  // namespace rlpp::env::text

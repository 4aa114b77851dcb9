#include "rlpp/env/text/list_ops.h"

#include <algorithm>

#include "rlpp/core/error.h"
#include "rlpp/core/strings.h"

namespace rlpp::env::text {

void ListOpsOptions::bind(core::Binder& b) {
  b.integer("min_len", min_len, "shortest list", core::Bounds::closed(1, 64));
  b.integer("max_len", max_len, "longest list", core::Bounds::closed(1, 64));
  b.integer("max_value", max_value, "elements are drawn from [0, max_value]", core::Bounds::closed(0, 999));
  b.text("ops", ops, "comma-separated subset of sort,reverse,dedupe");
}

ListOpsTask::ListOpsTask(const ListOpsOptions& opts) : opts_(opts), ops_(core::split(opts.ops, ',')) {
  core::require(opts.min_len <= opts.max_len, "list_ops: min_len = " + std::to_string(opts.min_len) +
                                                  " exceeds max_len = " + std::to_string(opts.max_len));
  core::require(!ops_.empty(), "list_ops: ops is empty");
  for (const auto& op : ops_) {
    core::require(op == "sort" || op == "reverse" || op == "dedupe",
                  "list_ops: unknown op '" + op + "' (valid: sort, reverse, dedupe)");
  }
}

namespace {
std::string join_ints(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}
}  // namespace

TaskInstance ListOpsTask::sample(core::Rng& rng) const {
  const std::string& op = ops_[rng.below(ops_.size())];
  const int64_t n = opts_.min_len + static_cast<int64_t>(rng.below(static_cast<uint64_t>(opts_.max_len - opts_.min_len + 1)));
  std::vector<int64_t> xs(static_cast<size_t>(n));
  for (auto& x : xs) x = static_cast<int64_t>(rng.below(static_cast<uint64_t>(opts_.max_value + 1)));
  std::vector<int64_t> out = xs;
  if (op == "sort") {
    std::sort(out.begin(), out.end());
  } else if (op == "reverse") {
    std::reverse(out.begin(), out.end());
  } else {  // dedupe: first occurrences, in order
    std::vector<int64_t> kept;
    for (int64_t x : xs) {
      if (std::find(kept.begin(), kept.end(), x) == kept.end()) kept.push_back(x);
    }
    out = kept;
  }
  TaskInstance t;
  t.prompt = op + " " + join_ints(xs) + ":";
  t.answer = join_ints(out);
  t.solution = t.answer;
  return t;
}

std::string ListOpsTask::alphabet() const { return "0123456789, :\nsortevdup"; }

}  // namespace rlpp::env::text

#include "rlpp/algo/d3s.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common.h"

namespace rlpp::algo {

namespace {

// ⌈f·n⌉ without the float noise of products like 0.3·10 = 3.0000000000000004.
int64_t ceil_count(double f, int64_t n) {
  return static_cast<int64_t>(std::ceil(f * static_cast<double>(n) - 1e-9));
}

void check_fraction(const std::string& who, const std::string& name, double f) {
  core::require(f > 0.0 && f <= 1.0, who + ": " + name + " must be in (0, 1], got " + std::to_string(f));
}

}  // namespace

double d3s_keep_fraction(int64_t step, const D3sScheduleOptions& opts) {
  const std::string who = "d3s schedule";
  check_fraction(who, "keep_fraction", opts.keep_fraction);
  check_fraction(who, "final_fraction", opts.final_fraction);
  core::require(opts.schedule_steps >= 1, who + ": schedule_steps must be >= 1, got " + std::to_string(opts.schedule_steps));
  if (opts.schedule == "constant") return opts.keep_fraction;
  const double t = std::clamp(static_cast<double>(step) / static_cast<double>(opts.schedule_steps), 0.0, 1.0);
  double u = 0;
  if (opts.schedule == "linear") {
    u = t;
  } else if (opts.schedule == "cosine") {
    u = 0.5 * (1.0 - std::cos(M_PI * t));
  } else {
    throw core::UserError(who + ": schedule must be constant, linear or cosine, got '" + opts.schedule + "'");
  }
  return opts.keep_fraction + (opts.final_fraction - opts.keep_fraction) * u;
}

torch::Tensor d3s_sample_keep(const torch::Tensor& values, const torch::Tensor& group_ids, double keep_fraction) {
  const std::string who = "d3s_sample";
  check_fraction(who, "keep_fraction", keep_fraction);
  check_defined(who, "values", values);
  core::require(values.dim() == 1, who + ": values must be (B), got " + selection::shape_of(values));
  const int64_t B = values.size(0);
  const auto g = selection::dense_groups(who, group_ids, B);
  const torch::Tensor v = values.detach().to(torch::kCPU).to(torch::kDouble).contiguous();  // (B)
  core::require(torch::isfinite(v).all().item<bool>(), who + ": values must be finite");
  const double* x = v.data_ptr<double>();
  const auto index = g.index.contiguous();
  const int64_t* gi = index.data_ptr<int64_t>();

  // Rows of every group (small per-group loops; the search per group is O(G log G)).
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(g.num));
  for (int64_t i = 0; i < B; ++i) members[static_cast<size_t>(gi[i])].push_back(i);

  std::vector<bool> keep(static_cast<size_t>(B), false);
  for (auto& rows : members) {
    const int64_t G = static_cast<int64_t>(rows.size());
    const int64_t k = std::min(G, std::max<int64_t>(2, ceil_count(keep_fraction, G)));
    if (k >= G) {
      for (int64_t i : rows) keep[static_cast<size_t>(i)] = true;
      continue;
    }
    std::stable_sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return x[a] < x[b]; });
    // Centred values keep the sums of squares well conditioned.
    double mean = 0;
    for (int64_t i : rows) mean += x[i];
    mean /= static_cast<double>(G);
    std::vector<double> s1(static_cast<size_t>(G + 1), 0.0), s2(static_cast<size_t>(G + 1), 0.0);  // prefix sums
    for (int64_t j = 0; j < G; ++j) {
      const double c = x[rows[static_cast<size_t>(j)]] - mean;
      s1[static_cast<size_t>(j + 1)] = s1[static_cast<size_t>(j)] + c;
      s2[static_cast<size_t>(j + 1)] = s2[static_cast<size_t>(j)] + c * c;
    }
    // Candidate j: the j smallest and the k − j largest (see the lemma in d3s.h).
    int64_t best_j = 0;
    double best = -1;
    for (int64_t j = 0; j <= k; ++j) {
      const auto lo = static_cast<size_t>(j), hi = static_cast<size_t>(G - (k - j));
      const double sum = s1[lo] + (s1[static_cast<size_t>(G)] - s1[hi]);
      const double sq = s2[lo] + (s2[static_cast<size_t>(G)] - s2[hi]);
      const double var = sq / static_cast<double>(k) - (sum / static_cast<double>(k)) * (sum / static_cast<double>(k));
      if (var > best) {
        best = var;
        best_j = j;
      }
    }
    for (int64_t j = 0; j < best_j; ++j) keep[static_cast<size_t>(rows[static_cast<size_t>(j)])] = true;
    for (int64_t j = G - (k - best_j); j < G; ++j) keep[static_cast<size_t>(rows[static_cast<size_t>(j)])] = true;
  }
  torch::Tensor out = torch::zeros({B}, torch::kBool);
  auto* o = out.data_ptr<bool>();
  for (int64_t i = 0; i < B; ++i) o[i] = keep[static_cast<size_t>(i)];
  return out.to(values.device());
}

SelectionOutput d3s_sample_select(const SelectionInput& in, const D3sSampleOptions& opts) {
  const std::string who = "d3s_sample";
  const double f = d3s_keep_fraction(in.step, opts.schedule);
  torch::Tensor values;  // (B)
  int64_t B = 0;
  if (opts.score == "reward") {
    check_defined(who, "seq_rewards", in.seq_rewards);
    B = in.seq_rewards.size(0);
    selection::check_rows(who, "seq_rewards", in.seq_rewards, B);
    if (in.mask.defined()) selection::check_tokens(who, "mask", in.mask, {});
    values = in.seq_rewards;
  } else {
    check_defined(who, "mask", in.mask);
    selection::check_tokens(who, "advantages", in.advantages, in.mask);
    B = in.mask.size(0);
    // Row mean of A over valid tokens (group estimators broadcast one A per row).
    const torch::Tensor valid = selection::valid_of(in.advantages, in.mask);
    const torch::Tensor a = torch::where(valid, in.advantages.detach().to(torch::kDouble), torch::zeros({}, torch::kDouble));
    values = a.sum(1) / valid.sum(1).clamp_min(1).to(torch::kDouble);
  }
  if (in.mask.defined()) {
    core::require(in.mask.size(0) == B, who + ": mask must have B = " + std::to_string(B) + " rows, got " +
                                            selection::shape_of(in.mask));
  }
  SelectionOutput out = selection::pass_through(in, B);
  out.row_keep = d3s_sample_keep(values, in.group_ids, f);
  selection::drop_rows(out, in);
  out.metrics["d3s_sample/keep_fraction"] = selection::scalar(f);
  out.metrics["d3s_sample/kept_rows_frac"] =
      selection::scalar(out.row_keep.sum().item<double>() / static_cast<double>(std::max<int64_t>(B, 1)));
  return out;
}

torch::Tensor d3s_token_mask(const torch::Tensor& advantages, const torch::Tensor& entropy, const torch::Tensor& mask,
                             double keep_fraction) {
  const std::string who = "d3s_token";
  check_fraction(who, "keep_fraction", keep_fraction);
  selection::check_tokens(who, "advantages", advantages, mask);
  selection::check_tokens(who, "entropy", entropy, mask);
  check_same_shape(who, "advantages", advantages, "entropy", entropy);
  torch::NoGradGuard no_grad;
  const torch::Tensor valid = selection::valid_of(advantages, mask);  // (B, L) bool
  const torch::Tensor score = torch::where(
      valid, advantages.detach().to(torch::kDouble).abs() * entropy.detach().to(torch::kDouble).to(advantages.device()),
      torch::full({}, -INFINITY, torch::TensorOptions().dtype(torch::kDouble).device(advantages.device())));
  core::require(!torch::isnan(score).any().item<bool>(), who + ": advantages and entropy must not be NaN at valid tokens");
  const int64_t n_valid = valid.sum().item<int64_t>();
  const int64_t n_keep = ceil_count(keep_fraction, n_valid);
  const torch::Tensor order = std::get<1>(torch::sort(score.flatten(), /*stable=*/true, /*dim=*/0, /*descending=*/true));
  torch::Tensor keep = torch::zeros({score.numel()}, advantages.options().dtype(torch::kFloat));
  keep.index_fill_(0, order.slice(0, 0, n_keep), 1.0);
  return keep.reshape(advantages.sizes()).to(mask.defined() ? mask.scalar_type() : torch::kFloat);
}

SelectionOutput d3s_token_select(const SelectionInput& in, const D3sTokenOptions& opts) {
  const std::string who = "d3s_token";
  check_defined(who, "mask", in.mask);
  const double f = d3s_keep_fraction(in.step, opts.schedule);
  SelectionOutput out = selection::pass_through(in, selection::batch_rows(who, in));
  out.token_mask = d3s_token_mask(in.advantages, in.entropy, in.mask, f);
  const double n_valid = selection::valid_of(in.mask, in.mask).sum().item<double>();
  out.metrics["d3s_token/keep_fraction"] = selection::scalar(f);
  out.metrics["d3s_token/kept_tokens_frac"] =
      selection::scalar(n_valid > 0 ? out.token_mask.sum().item<double>() / n_valid : 0.0);
  return out;
}

}  // namespace rlpp::algo

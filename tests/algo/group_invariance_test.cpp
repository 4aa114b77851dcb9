// Properties every group estimator must have, checked on all of them: permuting the responses (and
// relabelling the groups) permutes the advantages; groups with equal rewards give exactly 0 without
// NaN; groups of one; empty and length-1 responses stay finite; values at masked positions (token
// rewards, log-probs) never change the result. spo is stateful: it gets the same history on both
// sides of a comparison and only the checks that make sense for a baseline that is not the group's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/spo.h"

namespace rlpp::algo {
namespace {

// Double tensor copied from a vector (from_blob + clone: no per-element conversion path).
torch::Tensor from_vec(const std::vector<double>& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kDouble).clone();
}

const std::vector<std::string> kGroupRelative = {"grpo",     "dr_grpo",  "rloo", "opo", "grpo_passk",
                                                 "hapo_tga", "reinforce_pp_baseline"};
const std::vector<std::string> kAll = {"grpo",     "dr_grpo", "rloo", "opo", "grpo_passk",
                                       "hapo_tga", "reinforce_pp_baseline", "spo"};

struct Batch {
  std::vector<double> r;
  std::vector<int64_t> id;
  std::vector<int64_t> len;
  int64_t L = 6;
  torch::Dtype dtype = torch::kFloat;

  // Rows in the given order; masked positions of token_rewards / logp / logp_old hold `junk`.
  AdvantageInput input(const std::vector<int64_t>& order = {}, double junk = 0.0, bool with_tokens = false) const {
    std::vector<int64_t> o = order;
    if (o.empty()) {
      o.resize(r.size());
      std::iota(o.begin(), o.end(), 0);
    }
    const int64_t B = static_cast<int64_t>(o.size());
    std::vector<double> rr, ll;
    std::vector<int64_t> ii;
    for (int64_t k : o) {
      rr.push_back(r[k]);
      ii.push_back(id[k]);
      ll.push_back(static_cast<double>(len[k]));
    }
    AdvantageInput in;
    in.seq_rewards = from_vec(rr).to(dtype);
    in.group_ids = torch::tensor(ii);
    in.lengths = from_vec(ll).to(dtype);
    in.mask = torch::zeros({B, L}, dtype);
    torch::Tensor lp = torch::full({B, L}, junk, torch::kDouble), lpo = torch::full({B, L}, junk, torch::kDouble);
    torch::Tensor tr = torch::full({B, L}, junk, torch::kDouble);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < len[o[b]]; ++t) {
        in.mask[b][t] = 1.0;
        // Deterministic per (response, token): the same token of the same response everywhere.
        lp[b][t] = -0.1 * static_cast<double>(t + 1) - 0.01 * static_cast<double>(o[b]);
        lpo[b][t] = lp[b][t].item<double>() + 0.02 * static_cast<double>((o[b] + t) % 3);
        tr[b][t] = 0.0;
      }
    }
    if (with_tokens) {
      in.logp = lp.to(dtype);
      in.logp_old = lpo.to(dtype);
      in.token_rewards = tr.to(dtype);
    }
    return in;
  }
};

Batch random_batch(uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> coin(0, 3), len(0, 6);
  std::uniform_real_distribution<double> u(0, 1);
  const std::vector<int64_t> ids = {4, 9, 4, 1, 9, 4, 7, 1, 9, 4, 1, 12, 9, 1};
  Batch b;
  for (int64_t g : ids) {
    b.id.push_back(g);
    const int64_t c = coin(gen);
    b.r.push_back(c == 3 ? static_cast<float>(u(gen)) : static_cast<double>(c % 2));
    b.len.push_back(len(gen));
  }
  b.len[0] = 0;  // an empty response
  b.len[1] = 1;  // a length-1 response
  return b;
}

std::unique_ptr<AdvantageEstimator> make(const std::string& name) { return build_default(advantage_registry(), name); }

// A fresh estimator; spo gets a fixed history first so its baseline is not 0.5 everywhere.
std::unique_ptr<AdvantageEstimator> warmed(const std::string& name) {
  auto e = make(name);
  if (name == "spo") {
    Batch warm = random_batch(99);
    e->compute(warm.input({}, 0.0, true));
  }
  return e;
}

void expect_finite(const AdvantageOutput& out, const std::string& what) {
  EXPECT_TRUE(torch::isfinite(out.advantages).all().item<bool>()) << what;
  if (out.returns.defined()) {
    EXPECT_TRUE(torch::isfinite(out.returns).all().item<bool>()) << what;
  }
}

TEST(GroupInvariance, PermutingResponsesPermutesAdvantages) {
  for (const auto& name : kAll) {
    for (uint64_t seed : {1u, 2u, 3u}) {
      Batch b = random_batch(seed);
      std::vector<int64_t> perm(b.r.size());
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), std::mt19937_64(seed + 100));
      const AdvantageOutput base = warmed(name)->compute(b.input({}, 0.0, true));
      AdvantageInput pin = b.input(perm, 0.0, true);
      // Relabel the groups too (any integer ids name a group), except for spo whose ids are the
      // prompts its history is keyed by.
      if (name != "spo") pin.group_ids = pin.group_ids * 31 - 5;
      const AdvantageOutput moved = warmed(name)->compute(pin);
      const torch::Tensor want = base.advantages.index_select(0, torch::tensor(perm));
      const std::string what = name + " seed " + std::to_string(seed);
      expect_finite(moved, what);
      EXPECT_TRUE(torch::allclose(moved.advantages, want, 1e-5, 1e-6))
          << what << " max diff " << (moved.advantages - want).abs().max().item<double>();
      // Masked tokens stay exactly 0.
      EXPECT_EQ(moved.advantages.masked_select(pin.mask < 0.5).abs().sum().item<double>(), 0.0) << what;
    }
  }
}

TEST(GroupInvariance, SpoTrackerStateDoesNotDependOnRowOrder) {
  Batch b = random_batch(4);
  std::vector<int64_t> perm(b.r.size());
  std::iota(perm.rbegin(), perm.rend(), 0);  // reversed
  SpoAdvantage x{SpoOptions{}}, y{SpoOptions{}};
  x.compute(b.input({}, 0.0, true));
  y.compute(b.input(perm, 0.0, true));
  for (int64_t id : {1, 4, 7, 9, 12}) {
    EXPECT_NEAR(x.tracker().state(id).alpha, y.tracker().state(id).alpha, 1e-14) << id;
    EXPECT_NEAR(x.tracker().state(id).beta, y.tracker().state(id).beta, 1e-14) << id;
  }
}

TEST(GroupInvariance, EqualRewardGroupsGiveExactlyZero) {
  // Group sizes 1, 2, 3, 5, 7 with rewards that do not sum exactly in binary (0.1, 0.3, 0.7).
  Batch b;
  const std::vector<std::pair<int64_t, double>> groups = {{5, 0.1}, {6, 0.3}, {7, 0.7}, {8, 0.1}, {9, 1.0}};
  const std::vector<int64_t> sizes = {1, 2, 3, 5, 7};
  for (size_t g = 0; g < groups.size(); ++g) {
    for (int64_t k = 0; k < sizes[g]; ++k) {
      b.id.push_back(groups[g].first);
      b.r.push_back(groups[g].second);
      b.len.push_back(1 + (k * 5 + static_cast<int64_t>(g)) % 6);
    }
  }
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    b.dtype = dtype;
    for (const auto& name : kGroupRelative) {
      const AdvantageOutput out = make(name)->compute(b.input({}, 0.0, true));
      const std::string what = name + (dtype == torch::kFloat ? " float" : " double");
      expect_finite(out, what);
      EXPECT_EQ(out.advantages.abs().max().item<double>(), 0.0) << what;
    }
    // spo: every R − p̂ equal (fresh tracker, one reward for the whole batch) → exactly 0.
    Batch s = b;
    std::fill(s.r.begin(), s.r.end(), 0.3);
    const AdvantageOutput out = make("spo")->compute(s.input({}, 0.0, true));
    expect_finite(out, "spo");
    EXPECT_EQ(out.advantages.abs().max().item<double>(), 0.0) << "spo";
  }
}

TEST(GroupInvariance, GroupsOfOne) {
  Batch b;
  for (int64_t i = 0; i < 6; ++i) {
    b.id.push_back(10 * i);
    b.r.push_back(i % 2 ? 1.0 : 0.25 * static_cast<double>(i));
    b.len.push_back(i % 3 + 1);
  }
  for (const auto& name : kGroupRelative) {
    const AdvantageOutput out = make(name)->compute(b.input({}, 0.0, true));
    expect_finite(out, name);
    EXPECT_EQ(out.advantages.abs().max().item<double>(), 0.0) << name;  // no one to compare with
  }
  // spo needs no group: a single response per prompt is its intended use (R − p̂, batch-normalised).
  const AdvantageOutput out = make("spo")->compute(b.input({}, 0.0, true));
  expect_finite(out, "spo");
  EXPECT_GT(out.advantages.abs().max().item<double>(), 0.5);
  // A batch of one response.
  Batch one;
  one.id = {3};
  one.r = {1.0};
  one.len = {1};
  for (const auto& name : kAll) {
    const AdvantageOutput o = make(name)->compute(one.input({}, 0.0, true));
    expect_finite(o, name + " batch of one");
    EXPECT_EQ(o.advantages.abs().max().item<double>(), 0.0) << name;
  }
}

TEST(GroupInvariance, EmptyAndLengthOneResponsesStayFinite) {
  // Group 1: every response empty; group 2: one empty, two of length 1; group 3: mixed.
  Batch b;
  b.id = {1, 1, 2, 2, 2, 3, 3, 3};
  b.r = {1.0, 0.0, 1.0, 0.0, 0.5, 0.0, 1.0, 1.0};
  b.len = {0, 0, 0, 1, 1, 1, 6, 0};
  for (const auto& name : kAll) {
    const AdvantageInput in = b.input({}, 0.0, true);
    const AdvantageOutput out = warmed(name)->compute(in);
    expect_finite(out, name);
    EXPECT_EQ(out.advantages.masked_select(in.mask < 0.5).abs().sum().item<double>(), 0.0) << name;
    // Everything masked: a batch of empty responses.
    Batch e = b;
    std::fill(e.len.begin(), e.len.end(), 0);
    const AdvantageOutput none = warmed(name)->compute(e.input({}, 0.0, true));
    expect_finite(none, name + " all empty");
    EXPECT_EQ(none.advantages.abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(GroupInvariance, MaskedValuesNeverChangeResults) {
  const Batch b = random_batch(8);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& name : kAll) {
    auto clean = warmed(name), dirty = warmed(name);
    for (const double junk : {1e6, nan, -std::numeric_limits<double>::infinity()}) {
      const AdvantageOutput want = clean->compute(b.input({}, 0.0, true));
      const AdvantageOutput got = dirty->compute(b.input({}, junk, true));
      EXPECT_TRUE(torch::equal(got.advantages, want.advantages)) << name << " junk " << junk;
      if (want.returns.defined()) {
        EXPECT_TRUE(torch::equal(got.returns, want.returns)) << name << " junk " << junk;
      }
    }
  }
  // Without the optional token fields the group-relative estimators give the same as with zeros there.
  for (const auto& name : kGroupRelative) {
    const AdvantageOutput with = make(name)->compute(b.input({}, 0.0, true));
    const AdvantageOutput without = make(name)->compute(b.input({}, 0.0, false));
    EXPECT_TRUE(torch::equal(with.advantages, without.advantages)) << name;
  }
}

}  // namespace
}  // namespace rlpp::algo

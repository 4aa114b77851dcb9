// SPO tracker and the `spo` estimator against the recursion written out here in double with plain
// loops over several batches; decay bounds, sampling weights, seeded sampling, checkpoint round trip.
#include "rlpp/algo/spo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// Double tensor copied from a vector (from_blob + clone: no per-element conversion path).
torch::Tensor from_vec(const std::vector<double>& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kDouble).clone();
}

// One language batch with per-token log-probs; masked positions hold junk that must not matter.
struct Batch {
  std::vector<int64_t> id;
  std::vector<double> r;
  std::vector<int64_t> len;
  std::vector<std::vector<double>> logp, logp_old;  // B x L
  int64_t L = 5;

  AdvantageInput input(bool with_logp = true) const {
    const int64_t B = static_cast<int64_t>(r.size());
    AdvantageInput in;
    in.seq_rewards = from_vec(r).to(torch::kFloat);
    in.group_ids = torch::tensor(id);
    in.mask = torch::zeros({B, L});
    in.logp = torch::zeros({B, L});
    in.logp_old = torch::zeros({B, L});
    for (int64_t i = 0; i < B; ++i) {
      for (int64_t t = 0; t < L; ++t) {
        in.mask[i][t] = t < len[i] ? 1.0 : 0.0;
        in.logp[i][t] = static_cast<float>(logp[i][t]);
        in.logp_old[i][t] = static_cast<float>(logp_old[i][t]);
      }
    }
    if (!with_logp) in.logp = in.logp_old = torch::Tensor();
    return in;
  }
};

Batch random_batch(std::mt19937_64& gen, int64_t B) {
  std::uniform_int_distribution<int64_t> pid(0, 5), len(0, 5), coin(0, 2);
  std::uniform_real_distribution<double> u(0, 1), lp(-3, 0), drift(0, 0.3);
  Batch b;
  for (int64_t i = 0; i < B; ++i) {
    b.id.push_back(100 + 7 * pid(gen));
    // Binary rewards mostly, some fractional; all float-exact.
    const int64_t c = coin(gen);
    b.r.push_back(c == 2 ? static_cast<float>(u(gen)) : static_cast<double>(c));
    b.len.push_back(len(gen));
    std::vector<double> row, row_old;
    for (int64_t t = 0; t < b.L; ++t) {
      const bool valid = t < b.len.back();
      const double x = static_cast<float>(lp(gen));
      row.push_back(valid ? x : 1e6);  // junk at masked positions
      row_old.push_back(valid ? static_cast<float>(x + (u(gen) < 0.5 ? 1 : -1) * drift(gen)) : -1e6);
    }
    b.logp.push_back(row);
    b.logp_old.push_back(row_old);
  }
  return b;
}

// The recursion, written out again.
struct RefTracker {
  std::map<int64_t, std::pair<double, double>> ab;

  double p(int64_t id) const {
    const auto it = ab.find(id);
    if (it == ab.end()) return 0.5;
    return it->second.first / (it->second.first + it->second.second);
  }

  // Returns Â (B) and applies the update.
  std::vector<double> step(const Batch& b, bool with_logp) {
    const size_t B = b.r.size();
    std::vector<double> a(B);
    double mean = 0;
    for (size_t i = 0; i < B; ++i) {
      a[i] = b.r[i] - p(b.id[i]);
      mean += a[i];
    }
    mean /= B;
    double var = 0;
    for (size_t i = 0; i < B; ++i) var += (a[i] - mean) * (a[i] - mean);
    const double sd = std::sqrt(var / B);
    for (size_t i = 0; i < B; ++i) a[i] = (a[i] - mean) / (sd + 1e-6);

    std::map<int64_t, std::vector<size_t>> members;
    for (size_t i = 0; i < B; ++i) members[b.id[i]].push_back(i);
    for (const auto& [id, rows] : members) {
      double dsum = 0, n = 0;
      if (with_logp) {
        for (size_t i : rows) {
          for (int64_t t = 0; t < b.len[i]; ++t) {
            dsum += std::abs(static_cast<double>(static_cast<float>(b.logp_old[i][t])) -
                             static_cast<double>(static_cast<float>(b.logp[i][t])));
            n += 1;
          }
        }
      }
      const double d = n > 0 ? dsum / n : 0.0;
      double rho = std::pow(2.0, -d / 0.06);
      rho = std::min(0.96, std::max(0.875, rho));
      auto it = ab.find(id);
      double al = 0.5, be = 0.5;
      if (it != ab.end()) std::tie(al, be) = it->second;
      double w = 0, l = 0;
      for (size_t i : rows) {
        const double rc = std::min(1.0, std::max(0.0, b.r[i]));
        w += rc;
        l += 1 - rc;
      }
      ab[id] = {rho * al + w, rho * be + l};
    }
    return a;
  }
};

void expect_matches(const AdvantageOutput& out, const Batch& b, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(out.advantages.sizes(), (std::vector<int64_t>{static_cast<int64_t>(b.r.size()), b.L})) << what;
  ASSERT_EQ(out.advantages.scalar_type(), torch::kFloat) << what;
  EXPECT_TRUE(torch::equal(out.returns, out.advantages)) << what;
  const auto acc = out.advantages.accessor<float, 2>();
  for (size_t i = 0; i < b.r.size(); ++i) {
    for (int64_t t = 0; t < b.L; ++t) {
      if (t < b.len[i]) {
        EXPECT_NEAR(acc[i][t], want[i], 1e-5 * (1 + std::abs(want[i]))) << what << " row " << i;
      } else {
        EXPECT_EQ(acc[i][t], 0.0f) << what << " masked (" << i << ", " << t << ")";
      }
    }
  }
}

void expect_same_state(const SpoTracker& got, const RefTracker& ref, const std::string& what) {
  ASSERT_EQ(got.size(), ref.ab.size()) << what;
  for (const auto& [id, ab] : ref.ab) {
    EXPECT_NEAR(got.state(id).alpha, ab.first, 1e-12) << what << " prompt " << id;
    EXPECT_NEAR(got.state(id).beta, ab.second, 1e-12) << what << " prompt " << id;
  }
}

TEST(Spo, MatchesDoubleRecursionOverSeveralBatches) {
  for (const bool with_logp : {true, false}) {
    std::mt19937_64 gen(11);
    auto est = build_default(advantage_registry(), "spo");
    auto* spo = dynamic_cast<SpoAdvantage*>(est.get());
    ASSERT_NE(spo, nullptr);
    RefTracker ref;
    for (int step = 0; step < 6; ++step) {
      const Batch b = random_batch(gen, 4 + 3 * step);
      const std::vector<double> want = ref.step(b, with_logp);
      const std::string what = "step " + std::to_string(step) + (with_logp ? " with logp" : " without logp");
      expect_matches(est->compute(b.input(with_logp)), b, want, what);
      expect_same_state(spo->tracker(), ref, what);
    }
  }
}

TEST(Spo, HandComputedFirstBatch) {
  // Prompt 3 (two responses, rewards 1 and 0), prompt 9 (one response, reward 1); every p̂ = 0.5.
  // A = R − 0.5 = (0.5, −0.5, 0.5): mean 1/6, population std sqrt(2)/3.
  // Without logp: ρ = 0.96; prompt 3: α = 0.96·0.5 + 1 = 1.48, β = 1.48; prompt 9: α = 1.48, β = 0.48.
  SpoAdvantage est{SpoOptions{}};
  AdvantageInput in;
  in.seq_rewards = torch::tensor({1.0f, 0.0f, 1.0f});
  in.group_ids = torch::tensor({3, 3, 9}, torch::kLong);
  in.mask = torch::ones({3, 2});
  const AdvantageOutput out = est.compute(in);
  const double sd = std::sqrt(2.0) / 3;
  const std::vector<double> want = {(0.5 - 1.0 / 6) / (sd + 1e-6), (-0.5 - 1.0 / 6) / (sd + 1e-6),
                                    (0.5 - 1.0 / 6) / (sd + 1e-6)};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(out.advantages[i][1].item<double>(), want[i], 1e-5) << i;
  EXPECT_DOUBLE_EQ(est.tracker().state(3).alpha, 1.48);
  EXPECT_DOUBLE_EQ(est.tracker().state(3).beta, 1.48);
  EXPECT_DOUBLE_EQ(est.tracker().state(9).alpha, 1.48);
  EXPECT_DOUBLE_EQ(est.tracker().state(9).beta, 0.48);
  EXPECT_NEAR(est.tracker().p_hat(9), 1.48 / 1.96, 1e-15);
}

TEST(Spo, DecayIsClippedPowerOfTwo) {
  const SpoTracker t;
  EXPECT_DOUBLE_EQ(t.decay(0.0), 0.96);   // 2^0 = 1 → rho_max
  EXPECT_DOUBLE_EQ(t.decay(10.0), 0.875); // tiny → rho_min
  EXPECT_DOUBLE_EQ(t.decay(0.06), 0.875); // 2^-1 = 0.5 → rho_min
  // Inside the band: 2^(−D/0.06) = 0.9 at D = 0.06·log2(1/0.9).
  EXPECT_NEAR(t.decay(0.06 * std::log2(1 / 0.9)), 0.9, 1e-14);
  EXPECT_NEAR(t.decay(0.005), std::pow(2.0, -0.005 / 0.06), 1e-15);
  for (double d = 0; d < 1; d += 0.01) {
    EXPECT_GE(t.decay(d), 0.875);
    EXPECT_LE(t.decay(d), 0.96);
  }
  EXPECT_THROW(t.decay(-0.1), core::UserError);
  SpoOptions bad;
  bad.rho_min = 0.99;
  EXPECT_THROW(SpoTracker{bad}, core::UserError);
}

TEST(Spo, UnseenPromptsStartAtOneHalfAndRewardsAreClippedForTheUpdate) {
  SpoTracker t;
  EXPECT_EQ(t.p_hat(123456789), 0.5);
  EXPECT_EQ(t.p_hat(-4), 0.5);
  EXPECT_EQ(t.size(), 0u);
  const torch::Tensor p = t.p_hat(torch::tensor({1, 2, 3}, torch::kLong));
  EXPECT_TRUE(torch::equal(p, torch::full({3}, 0.5, torch::kDouble)));
  // R = 1.5 counts as a success, R = −2 as a failure.
  t.update(7, {1.5, -2.0}, 0.9);
  EXPECT_DOUBLE_EQ(t.state(7).alpha, 0.45 + 1.0);
  EXPECT_DOUBLE_EQ(t.state(7).beta, 0.45 + 1.0);
  EXPECT_EQ(t.p_hat(8), 0.5);  // other prompts untouched
  EXPECT_THROW(t.update(7, {std::nan("")}, 0.9), core::UserError);
}

TEST(Spo, SamplingWeights) {
  SpoTracker t;
  t.update(1, {1, 1, 1}, 0.96);  // α = 3.48, β = 0.48
  t.update(2, {0, 1}, 0.96);     // α = β = 1.48
  const torch::Tensor w = t.sampling_weights(torch::tensor({1, 2, 5}, torch::kLong));
  const double p1 = 3.48 / 3.96;
  EXPECT_NEAR(w[0].item<double>(), std::sqrt(p1 * (1 - p1)) + 0.05, 1e-15);
  EXPECT_NEAR(w[1].item<double>(), 0.5 + 0.05, 1e-15);
  EXPECT_NEAR(w[2].item<double>(), 0.5 + 0.05, 1e-15);  // unseen
}

TEST(Spo, SameSeedSamplesSamePrompts) {
  SpoTracker t;
  std::vector<int64_t> cands;
  for (int64_t i = 0; i < 50; ++i) {
    cands.push_back(1000 + i);
    t.update(1000 + i, {i % 3 == 0 ? 1.0 : 0.0, i % 5 == 0 ? 1.0 : 0.0}, 0.9);
  }
  const auto a = t.sample_prompts(cands, 10, 42);
  const auto b = t.sample_prompts(cands, 10, 42);
  const auto c = t.sample_prompts(cands, 10, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 10u);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());  // without replacement
  for (int64_t x : a) EXPECT_NE(std::find(cands.begin(), cands.end(), x), cands.end());
  // The generator overload with an explicitly seeded generator draws the same.
  torch::Generator g = at::detail::createCPUGenerator(42);
  const torch::Tensor d = t.sample_prompts(torch::tensor(cands, torch::kLong), 10, g);
  EXPECT_EQ(std::vector<int64_t>(d.data_ptr<int64_t>(), d.data_ptr<int64_t>() + 10), a);
  EXPECT_THROW(t.sample_prompts(cands, 51, 1), core::UserError);
  EXPECT_EQ(t.sample_prompts(cands, 200, 1, /*replacement=*/true).size(), 200u);
}

TEST(Spo, SamplingFrequenciesFollowWeights) {
  // Prompt 1: p̂ ≈ 1 after many successes (weight ≈ 0.05 + small); prompt 2 unseen (weight 0.55).
  SpoTracker t;
  t.update(1, std::vector<double>(200, 1.0), 0.96);
  const double p1 = t.p_hat(1);
  const double w1 = std::sqrt(p1 * (1 - p1)) + 0.05, w2 = 0.55;
  const auto draws = t.sample_prompts({1, 2}, 20000, 7, /*replacement=*/true);
  const double f1 = static_cast<double>(std::count(draws.begin(), draws.end(), 1)) / draws.size();
  EXPECT_NEAR(f1, w1 / (w1 + w2), 0.01);
}

TEST(Spo, SaveLoadRoundTripContinuesIdentically) {
  std::mt19937_64 gen(5);
  SpoAdvantage a{SpoOptions{}};
  for (int s = 0; s < 3; ++s) a.compute(random_batch(gen, 9).input());
  const std::string text = a.tracker().save().dump();
  SpoAdvantage b{SpoOptions{}};
  b.tracker().load(nlohmann::json::parse(text));
  ASSERT_EQ(b.tracker().size(), a.tracker().size());
  for (int s = 0; s < 3; ++s) {
    const Batch batch = random_batch(gen, 7);
    EXPECT_TRUE(torch::equal(a.compute(batch.input()).advantages, b.compute(batch.input()).advantages)) << s;
  }
  EXPECT_EQ(a.tracker().save(), b.tracker().save());
  // Malformed states are refused and leave the tracker as it was.
  const nlohmann::json before = b.tracker().save();
  nlohmann::json bad = before;
  bad["prompts"].push_back({1, -1.0, 0.5});
  EXPECT_THROW(b.tracker().load(bad), core::UserError);
  EXPECT_THROW(b.tracker().load(nlohmann::json{{"format", "other"}}), core::UserError);
  EXPECT_EQ(b.tracker().save(), before);
}

TEST(Spo, BadInputsNameTheArgument) {
  SpoAdvantage est{SpoOptions{}};
  AdvantageInput in;
  in.seq_rewards = torch::tensor({1.0f, 0.0f});
  in.group_ids = torch::tensor({1, 2}, torch::kLong);
  in.mask = torch::ones({3, 2});
  try {
    est.compute(in);
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("mask"), std::string::npos) << e.what();
  }
  in.mask = torch::ones({2, 2});
  in.logp = torch::zeros({2, 3});
  in.logp_old = torch::zeros({2, 2});
  EXPECT_THROW(est.compute(in), core::UserError);
  EXPECT_EQ(est.tracker().size(), 0u);
}

}  // namespace
}  // namespace rlpp::algo

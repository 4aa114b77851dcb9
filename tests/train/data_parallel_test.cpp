// Data-parallel training across real processes (Gloo on loopback): the test binary starts copies
// of itself as 2 or 3 ranks (DataParallelWorker.Scenario, which runs only when started so). Each
// rank checks itself against a single-process reference it computes on the global batch:
//  * "learners": both backends, discrete and continuous. Every rank updates its learner on its
//    share of each global minibatch; a second learner in the same process, with the same initial
//    weights, updates on the whole of it. After three updates the weights agree within 1e-6 of
//    the largest weight (float rounding of sums in another order), and they are bit-identical
//    across the ranks.
//  * "stats": between syncs a rank's normaliser statistics are those of its own rows; after a sync
//    (ranks with unequal row counts) they are the statistics at the previous sync merged with the
//    union of every rank's rows since, by the running mean/variance formula re-derived here in
//    double; whitening with dist::group_mean_std equals algo::normalize_advantages of the union.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/ranks.h"
#include "rlpp/algo/normalize.h"
#include "rlpp/core/rng.h"
#include "rlpp/dist/comm.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/running_mean_std.h"

namespace rlpp::train {
namespace {

std::vector<float> flat(ActorCriticLearner& l) {
  std::vector<float> out;
  for (const torch::Tensor& w : l.weights()) {
    const torch::Tensor c = w.detach().contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

// One global minibatch of G rows drawn from `ref` (actions sampled, log-probs and values
// perturbed so that ratios fall inside and outside the clip range); the same on every rank.
struct Batch {
  int64_t rows = 0, obs_dim = 0, act_flat = 0;
  std::vector<float> obs, act, logp, adv, ret, val;
  ControlMinibatch share(int64_t begin, int64_t m) const {
    return {m,
            obs.data() + begin * obs_dim,
            act.data() + begin * act_flat,
            logp.data() + begin,
            adv.data() + begin,
            ret.data() + begin,
            val.data() + begin};
  }
};

Batch draw(ActorCriticLearner& ref, const LearnerConfig& cfg, int64_t g, uint64_t seed) {
  Batch b;
  b.rows = g;
  b.obs_dim = cfg.obs_dim;
  b.act_flat = cfg.discrete ? 1 : cfg.act_dim;
  std::mt19937 gen(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  b.obs.resize(static_cast<size_t>(g * b.obs_dim));
  for (float& v : b.obs) v = normal(gen);
  b.act.resize(static_cast<size_t>(g * b.act_flat));
  b.logp.resize(static_cast<size_t>(g));
  b.val.resize(static_cast<size_t>(g));
  core::Rng rng(seed);
  ref.act(b.obs.data(), g, rng, /*deterministic=*/false, b.act.data(), b.logp.data(), b.val.data());
  for (int64_t i = 0; i < g; ++i) {
    b.logp[i] += 0.3f * normal(gen);
    b.val[i] += 0.3f * normal(gen);
    b.adv.push_back(2.0f * normal(gen) + 0.3f);
    b.ret.push_back(b.val[i] + normal(gen));
  }
  return b;
}

void learners(dist::Comm& comm, std::ostream& log) {
  const int w = comm.size(), r = comm.rank();
  const int64_t m = 6;  // rows per rank and minibatch
  for (const std::string backend : {"fast", "torch"}) {
    for (const bool discrete : {true, false}) {
      const std::string where = backend + (discrete ? " discrete" : " continuous");
      LearnerConfig cfg;
      cfg.obs_dim = 4;
      cfg.act_dim = discrete ? 3 : 2;
      cfg.discrete = discrete;
      cfg.policy.hidden = {16, 16};
      cfg.policy.backend = backend;
      torch::manual_seed(11);
      auto dp = make_actor_critic_learner(cfg);
      torch::manual_seed(11);
      auto ref = make_actor_critic_learner(cfg);
      PpoLossOptions o;
      o.ent_coef = 0.01;
      o.max_grad_norm = 0.5;
      for (int k = 0; k < 3; ++k) {
        const Batch b = draw(*ref, cfg, m * w, 100 + static_cast<uint64_t>(k));
        PpoLossOptions mine = o;
        mine.comm = &comm;
        // the global minibatch's whitening (what ControlRun computes with dist::group_mean_std)
        double mean = 0, ss = 0;
        for (float v : b.adv) mean += v;
        mean /= static_cast<double>(b.adv.size());
        for (float v : b.adv) ss += (v - mean) * (v - mean);
        mine.adv_mean = mean;
        mine.adv_std = std::sqrt(ss / static_cast<double>(b.adv.size() - 1));
        dp->update(b.share(r * m, m), mine, 3e-3);
        ref->update(b.share(0, m * w), o, 3e-3);
      }
      const std::vector<float> a = flat(*dp), want = flat(*ref);
      ASSERT_EQ(a.size(), want.size());
      // relative to the scale of the weights: max |dp − one process| / max |one process|
      double diff = 0, scale = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(a[i]) - want[i]));
        scale = std::max(scale, std::abs(static_cast<double>(want[i])));
      }
      log << where << ": max |dp - one process| = " << diff << ", max |weight| = " << scale << std::endl;
      EXPECT_LE(diff, 1e-6 * scale) << where;
      EXPECT_GT(diff + scale, 0.0);
      // bit-identical across ranks: rank 0's weights sent to everyone
      torch::Tensor mine_t = torch::from_blob(const_cast<float*>(a.data()), {static_cast<int64_t>(a.size())}).clone();
      torch::Tensor root = mine_t.clone();
      comm.broadcast(root, 0);
      EXPECT_TRUE(torch::equal(mine_t, root)) << where << ": rank " << r << " differs from rank 0";
    }
  }
}

// Rank r holds 2 + r rows of dim 3.
std::vector<double> rows_of(int rank, uint64_t seed) {
  std::mt19937 gen(static_cast<uint32_t>(seed * 7 + static_cast<uint64_t>(rank)));
  std::normal_distribution<double> normal(1.5, 2.0);
  std::vector<double> x(static_cast<size_t>((2 + rank) * 3));
  for (double& v : x) v = normal(gen);
  return x;
}

// The running statistics (count, mean, var) after merging the rows x (n, 3) as one batch: the
// batch's mean and population variance, then Chan et al.'s parallel combination.
struct Moments {
  std::vector<double> mean = std::vector<double>(3, 0.0), var = std::vector<double>(3, 1.0);
  double count = 1e-4;
  void merge(const std::vector<double>& x) {
    const double n = static_cast<double>(x.size() / 3);
    for (size_t j = 0; j < 3; ++j) {
      double s = 0, ss = 0;
      for (size_t i = j; i < x.size(); i += 3) s += x[i];
      const double bm = s / n;
      for (size_t i = j; i < x.size(); i += 3) ss += (x[i] - bm) * (x[i] - bm);
      const double bv = ss / n, delta = bm - mean[j], tot = count + n;
      var[j] = (var[j] * count + bv * n + delta * delta * count * n / tot) / tot;
      mean[j] += delta * n / tot;
    }
    count += n;
  }
};

void expect_moments(const RunningMeanStd& rms, const Moments& want, double tol, const std::string& where) {
  EXPECT_NEAR(rms.count(), want.count, 1e-9) << where;
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(rms.mean()[j], want.mean[j], tol) << where << " mean " << j;
    EXPECT_NEAR(rms.var()[j], want.var[j], tol) << where << " var " << j;
  }
}

void stats(dist::Comm& comm, std::ostream& log) {
  const int w = comm.size(), r = comm.rank();
  RunningMeanStd rms(3);
  rms.set_comm(&comm);
  Moments local, global;  // this rank's rows one update at a time; every rank's rows as one batch
  std::vector<double> all;
  for (int round = 0; round < 2; ++round) {  // two syncs, each after two local updates
    for (uint64_t step = 0; step < 2; ++step) {
      const uint64_t seed = static_cast<uint64_t>(round) * 2 + step;
      const std::vector<double> mine = rows_of(r, seed);
      rms.update(mine.data(), static_cast<int64_t>(mine.size() / 3));
      local.merge(mine);
      for (int q = 0; q < w; ++q) {
        const std::vector<double> x = rows_of(q, seed);
        all.insert(all.end(), x.begin(), x.end());
      }
    }
    expect_moments(rms, local, 1e-12, "before the sync (this rank's rows only)");
    rms.sync();
    global.merge(all);
    all.clear();
    expect_moments(rms, global, 1e-9, "after the sync (the union of every rank's rows)");
    local = global;
    log << "sync " << round << ": count " << rms.count() << " mean[0] " << rms.mean()[0] << " var[0] " << rms.var()[0]
        << std::endl;
  }
  // whitening of two groups over the union of unequal shares
  std::vector<double> sums;
  std::vector<torch::Tensor> mine, want;
  for (uint64_t g = 0; g < 2; ++g) {
    std::vector<torch::Tensor> shares;
    for (int q = 0; q < w; ++q) shares.push_back(torch::tensor(rows_of(q, 9 + g), torch::kDouble).to(torch::kFloat32));
    const torch::Tensor x = shares[static_cast<size_t>(r)].to(torch::kDouble);
    sums.insert(sums.end(), {x.sum().item<double>(), (x * x).sum().item<double>(), static_cast<double>(x.numel())});
    int64_t offset = 0;
    for (int q = 0; q < r; ++q) offset += shares[static_cast<size_t>(q)].numel();
    want.push_back(algo::normalize_advantages(torch::cat(shares)).narrow(0, offset, x.numel()));
    mine.push_back(shares[static_cast<size_t>(r)]);
  }
  const auto ms = dist::group_mean_std(comm, sums);
  ASSERT_EQ(ms.size(), 2u);
  for (size_t g = 0; g < 2; ++g) {
    const torch::Tensor got = (mine[g].to(torch::kDouble) - ms[g].first) / (ms[g].second + algo::kAdvantageNormEps);
    const double err = (got.to(torch::kFloat32) - want[g]).abs().max().item<double>();
    log << "whitening of group " << g << ": max error " << err << std::endl;
    EXPECT_LT(err, 1e-6) << g;
  }
}

TEST(DataParallelWorker, Scenario) {
  const char* scenario = std::getenv("RLPP_DP_TEST");
  if (scenario == nullptr) GTEST_SKIP() << "a rank of the data-parallel tests (started by them)";
  std::ofstream log(std::getenv("RLPP_RANK_LOG"));
  dist::CommOptions opts;
  opts.timeout = std::chrono::seconds(60);
  auto comm = dist::Comm::connect(dist::read_world(), opts);
  torch::set_num_threads(1);
  if (std::string(scenario) == "learners") learners(*comm, log);
  if (std::string(scenario) == "stats") stats(*comm, log);
}

std::vector<int> run(const std::string& scenario, int ranks, const testing::TempDir& dir) {
  return testing::run_ranks("DataParallelWorker.Scenario", "RLPP_DP_TEST", scenario, ranks, dir);
}

TEST(DataParallel, LearnerUpdatesOnTwoRanksEqualOneProcessOnTheGlobalMinibatch) {
  testing::TempDir dir("dp");
  EXPECT_EQ(run("learners", 2, dir), (std::vector<int>{0, 0})) << testing::slurp(dir.sub("rank0.txt"));
}

TEST(DataParallel, LearnerUpdatesOnThreeRanksEqualOneProcessOnTheGlobalMinibatch) {
  testing::TempDir dir("dp");
  EXPECT_EQ(run("learners", 3, dir), (std::vector<int>{0, 0, 0})) << testing::slurp(dir.sub("rank0.txt"));
}

TEST(DataParallel, NormaliserStatisticsAndWhiteningAreThoseOfTheUnionOfTheRows) {
  testing::TempDir dir("dp");
  EXPECT_EQ(run("stats", 3, dir), (std::vector<int>{0, 0, 0})) << testing::slurp(dir.sub("rank0.txt"));
}

}  // namespace
}  // namespace rlpp::train

// The language-model policy update across real processes (Gloo on loopback): the test binary starts
// copies of itself as 2 or 3 ranks (PolicyUpdateDpWorker.Scenario, which runs only when started so).
// Every rank draws the same global batch of G = 7 rows (unequal shares) and holds two copies of one
// tiny model: it updates the first with its own rows through the data-parallel PolicyUpdate, and
// the second with the whole batch in a single-process PolicyUpdate (the reference). Cases cover
// every aggregation, objectives whose prepare() fixes batch statistics (bapo's bounds, clip_cov's
// random selection, kl_cov, hapo's entropy statistics, lp_reg's proxy), micro-batching inside a
// rank, a fixed KL term against the reference policy, and EPO's entropy history. After two updates
// of two epochs each (SGD, so that the comparison is of the gradients and not of Adam's
// conditioning), the weights agree within 1e-6 of the largest weight, the logged losses agree
// within 1e-5 (float32 sums in another order), and the weights are bit-identical across the ranks.
// Three ranks run three of the cases. The aggregation counts of a mask split across the ranks
// equal the counts of the whole mask, exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/ranks.h"
#include "common/tiny_lm.h"
#include "rlpp/algo/build_named.h"
#include "rlpp/core/config.h"
#include "rlpp/core/zip_check.h"
#include "rlpp/dist/comm.h"
#include "rlpp/dist/world.h"
#include "rlpp/train/lm/policy_update.h"

namespace rlpp::train::lm {
namespace {

constexpr int64_t kRows = 7, kPrompt = 3, kResponse = 5, kVocab = 12;

// The global batch, the same on every rank (drawn from a fixed seed and the initial model).
UpdateBatch global_batch(nn::lm::TransformerLm& model) {
  torch::manual_seed(11);
  UpdateBatch b;
  b.tokens = torch::randint(0, kVocab, {kRows, kPrompt + kResponse}, torch::kInt64);
  b.attention = torch::ones({kRows, kPrompt + kResponse}, torch::kBool);
  b.attention.index_put_({0, 0}, false);  // one left-padded prompt
  b.response_start = kPrompt;
  b.mask = (torch::rand({kRows, kResponse}) < 0.8).to(torch::kFloat32);
  b.mask[3].zero_();  // a row without a trained token
  b.mask.index_put_({1, 0}, 1.0);
  const torch::Tensor row_adv = torch::randn({kRows, 1});
  b.advantages = (row_adv + 0.1 * torch::randn({kRows, kResponse})) * b.mask;
  {
    torch::NoGradGuard ng;
    const auto lp = nn::lm::token_logprobs(model, b.tokens, b.attention);
    b.logp_old = (lp.logp.slice(1, kPrompt) + 0.3 * torch::randn({kRows, kResponse})) * b.mask;
    b.sampled_entropy = lp.entropy.slice(1, kPrompt).clone();
  }
  b.turn = torch::zeros({kRows, kResponse}, torch::kInt64);
  b.valid = b.mask.clone();
  return b;
}

UpdateBatch rows_of(const UpdateBatch& g, int64_t lo, int64_t hi) {
  UpdateBatch b = g;
  for (torch::Tensor* t : {&b.tokens, &b.attention, &b.mask, &b.advantages, &b.logp_old, &b.turn, &b.sampled_entropy,
                           &b.valid}) {
    *t = t->slice(0, lo, hi);
  }
  return b;
}

std::vector<float> flat(nn::lm::TransformerLm& m) {
  std::vector<float> out;
  for (const torch::Tensor& p : m->parameters()) {
    const torch::Tensor c = p.detach().contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

double metric(const core::MetricRow& row, const std::string& k) {
  for (const auto& [name, v] : row) {
    if (name == k) return v;
  }
  ADD_FAILURE() << "no metric " << k;
  return 0;
}

struct Case {
  std::string name, objective, aggregation, extra;  // extra: more recipe sections
  int64_t micro = 0;
};

// Runs one case: two updates of the rank's share (data-parallel) and of the whole batch.
void run_case(dist::Comm& comm, const Case& c, std::ostream& log) {
  const int w = comm.size(), r = comm.rank();
  const nn::lm::LmConfig cfg = testing::tiny_lm_config(kVocab, 16, 32);
  nn::lm::TransformerLm mine = testing::tiny_lm(cfg, 3), ref = testing::tiny_lm(cfg, 3);
  const UpdateBatch global = global_batch(ref);
  const UpdateBatch share = rows_of(global, kRows * r / w, kRows * (r + 1) / w);
  const std::string text = "[objective]\nname = \"" + c.objective + "\"\n" + c.extra;
  const core::Recipe recipe = core::Recipe::parse(text, c.name);
  PolicyUpdateOptions opts;
  opts.ppo_epochs = 2;
  opts.aggregation = c.aggregation;
  opts.micro_batch_size = c.micro;
  opts.max_grad_norm = 100.0;  // the clip is global too, but keep the comparison about the gradient
  torch::optim::SGD opt_mine(mine->parameters(), torch::optim::SGDOptions(0.02));
  torch::optim::SGD opt_ref(ref->parameters(), torch::optim::SGDOptions(0.02));
  PolicyUpdate upd_mine(opts, algo::build_named(algo::objective_registry(), recipe, "objective", "ppo_clip"), mine,
                        opt_mine, recipe, nullptr);
  PolicyUpdate upd_ref(opts, algo::build_named(algo::objective_registry(), recipe, "objective", "ppo_clip"), ref, opt_ref,
                       recipe, nullptr);
  upd_mine.set_comm(&comm);
  core::Rng rng_mine(5 + static_cast<uint64_t>(r)), rng_ref(5);
  for (int step = 0; step < 2; ++step) {
    const core::MetricRow a = upd_mine.run(share, rng_mine, 0.5);
    const core::MetricRow b = upd_ref.run(global, rng_ref, 0.5);
    for (const char* k : {"losses/policy_loss", "losses/kl", "losses/clipfrac"}) {
      const double x = metric(a, k), y = metric(b, k);
      // float32 sums of the same terms in another order (token-sum losses reach ~60)
      EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(y))) << c.name << " step " << step << " " << k;
    }
  }
  const std::vector<float> wm = flat(mine), wr = flat(ref);
  double err = 0, scale = 0;
  for (size_t i = 0; i < wm.size(); ++i) {
    err = std::max(err, static_cast<double>(std::abs(wm[i] - wr[i])));
    scale = std::max(scale, static_cast<double>(std::abs(wr[i])));
  }
  // The update moved the weights (the comparison is not of two untouched models).
  double moved = 0;
  nn::lm::TransformerLm initial = testing::tiny_lm(cfg, 3);
  const std::vector<float> w0 = flat(initial);
  for (size_t i = 0; i < wm.size(); ++i) moved = std::max(moved, static_cast<double>(std::abs(wr[i] - w0[i])));
  EXPECT_GT(moved, 1e-3) << c.name;
  EXPECT_LE(err, 1e-6 * scale) << c.name;
  // Bit-identical replicas: every rank's CRC-32 of its weights, gathered.
  const uint32_t crc = core::crc32(std::string_view(reinterpret_cast<const char*>(wm.data()), wm.size() * sizeof(float)));
  const std::vector<std::string> crcs = comm.gather_bytes(std::to_string(crc), 0);
  if (r == 0) {
    for (const std::string& x : crcs) EXPECT_EQ(x, crcs.front()) << c.name;
  }
  log << c.name << ": max |w_ranks - w_one| " << err << " (max |w| " << scale << ", moved " << moved << ")" << std::endl;
}

void counts(dist::Comm& comm, std::ostream& log) {
  const int w = comm.size(), r = comm.rank();
  torch::manual_seed(21);
  const torch::Tensor mask = (torch::rand({11, 6}) < 0.5).to(torch::kFloat32);
  mask[4].zero_();
  // By hand over the whole mask: valid tokens, rows with one, the padded length.
  double tokens = 0, seqs = 0;
  for (int64_t i = 0; i < 11; ++i) {
    double n = 0;
    for (int64_t j = 0; j < 6; ++j) n += mask[i][j].item<double>();
    tokens += n;
    seqs += n > 0 ? 1 : 0;
  }
  const algo::AggregationCounts got =
      global_counts(&comm, algo::aggregation_counts(mask.slice(0, 11 * r / w, 11 * (r + 1) / w)));
  EXPECT_EQ(got.num_tokens, tokens);
  EXPECT_EQ(got.num_seqs, seqs);
  EXPECT_EQ(got.max_len, 6.0);
  log << "counts: tokens " << got.num_tokens << " seqs " << got.num_seqs << std::endl;
}

TEST(PolicyUpdateDpWorker, Scenario) {
  const char* scenario = std::getenv("RLPP_LM_DP_TEST");
  if (scenario == nullptr) GTEST_SKIP() << "a rank of the data-parallel policy-update tests (started by them)";
  std::ofstream log(std::getenv("RLPP_RANK_LOG"));
  dist::CommOptions copts;
  copts.timeout = std::chrono::seconds(60);
  auto comm = dist::Comm::connect(dist::read_world(), copts);
  torch::set_num_threads(1);
  counts(*comm, log);
  const std::string kl = "[kl]\nname = \"fixed\"\ncoef = 0.1\n";
  const std::vector<Case> cases = {
      {"ppo_clip token-mean", "ppo_clip", "token-mean", ""},
      {"ppo_clip seq-mean-token-mean, micro 2", "ppo_clip", "seq-mean-token-mean", "", 2},
      {"ppo_clip seq-mean-token-sum-norm + kl", "ppo_clip", "seq-mean-token-sum-norm", kl},
      {"ppo_clip seq-mean-token-sum + epo", "ppo_clip", "seq-mean-token-sum", "[entropy_control]\nname = \"epo\"\n"},
      {"cispo token-sum", "cispo", "token-sum", ""},
      {"bapo", "bapo", "token-mean", ""},
      {"clip_cov, micro 1", "clip_cov", "token-mean", "", 1},
      {"kl_cov", "kl_cov", "token-mean", ""},
      {"hapo", "hapo", "token-mean", ""},
      {"lp_reg", "lp_reg", "token-mean", ""},
      {"gspo", "gspo", "seq-mean-token-mean", ""},
  };
  // Three ranks: the cases whose statistics are split most differently.
  const std::vector<std::string> some = {"ppo_clip seq-mean-token-mean, micro 2", "bapo", "clip_cov, micro 1"};
  for (const Case& c : cases) {
    if (std::string(scenario) == "all" || std::find(some.begin(), some.end(), c.name) != some.end()) run_case(*comm, c, log);
  }
}

std::vector<int> run(int ranks, const std::string& scenario, const testing::TempDir& dir) {
  return testing::run_ranks("PolicyUpdateDpWorker.Scenario", "RLPP_LM_DP_TEST", scenario, ranks, dir);
}

TEST(PolicyUpdateDataParallel, TwoRanksEqualOneProcessOnTheGlobalBatch) {
  testing::TempDir dir("lm_dp");
  EXPECT_EQ(run(2, "all", dir), (std::vector<int>{0, 0})) << testing::slurp(dir.sub("rank0.txt"))
                                                   << testing::slurp(dir.sub("rank1.txt"));
}

TEST(PolicyUpdateDataParallel, ThreeRanksEqualOneProcessOnTheGlobalBatch) {
  testing::TempDir dir("lm_dp");
  EXPECT_EQ(run(3, "some", dir), (std::vector<int>{0, 0, 0})) << testing::slurp(dir.sub("rank0.txt"));
}

}  // namespace
}  // namespace rlpp::train::lm

#include "rlpp/search/reward_model_bon.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rlpp/algo/preference.h"
#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/plot.h"
#include "rlpp/sample/generator.h"
#include "rlpp/search/loaded_lm.h"
#include "rlpp/search/value_head.h"

namespace rlpp::search {

namespace fs = std::filesystem;

namespace {

// N samples of each problem: their last-token hidden states (P·N, H) and verifier grades (P·N).
struct SamplePool {
  torch::Tensor features;  // (P·N, H) fp32, detached
  std::vector<double> correct;
  int64_t per_problem = 0;
};

SamplePool sample_pool(LoadedLm& run, const std::vector<env::text::TaskInstance>& problems, int64_t n, double temperature,
                       uint64_t seed) {
  const core::Recipe r = core::Recipe::parse("[s]\ntemperature = " + std::to_string(temperature) + "\n", "rm-bon");
  core::Binder b = core::Binder::reader(r, "s");
  sample::SamplerChain chain = sample::build_chain({"temperature"}, b);
  b.finish();
  sample::GenerationOptions go;
  go.max_new_tokens = 64;
  go.num_return_sequences = n;
  go.seed = seed;
  sample::Generator gen(chain, go);
  const env::text::TextTask& task = *run.data->task();
  SamplePool pool;
  pool.per_problem = n;
  std::vector<torch::Tensor> feats;
  torch::NoGradGuard ng;
  for (const auto& inst : problems) {
    const std::vector<int64_t> prompt = run.data->tokenize({inst.prompt, inst.solution, inst}, *run.tokenizer).prompt;
    const sample::Generation g = gen.generate(*run.model, {prompt});
    // Full sequences prompt + response (left-padded prompt as generated): (N, L_p + L_r).
    const torch::Tensor tokens = torch::cat({g.prompt_tokens, g.tokens}, 1);
    const torch::Tensor att = torch::cat({g.prompt_mask, g.mask}, 1);
    const torch::Tensor hidden = run.model->hidden_states(tokens, att);  // (N, L, H)
    const torch::Tensor pos = torch::arange(att.size(1), torch::kLong).unsqueeze(0) * att.to(torch::kLong);
    const torch::Tensor last = pos.amax(1);  // (N) last real position
    feats.push_back(hidden.index({torch::arange(hidden.size(0)), last}).contiguous());  // (N, H)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t len = g.lengths[i].item<int64_t>();
      const std::vector<int64_t> t(g.tokens[i].data_ptr<int64_t>(), g.tokens[i].data_ptr<int64_t>() + len);
      pool.correct.push_back(task.grade(inst, run.tokenizer->decode(t, true)));
    }
  }
  pool.features = torch::cat(feats, 0);
  return pool;
}

// (correct, incorrect) index pairs within each problem, at most `cap` per problem.
std::pair<std::vector<int64_t>, std::vector<int64_t>> make_pairs(const SamplePool& pool, int64_t cap) {
  std::vector<int64_t> w, l;
  const int64_t n = pool.per_problem;
  for (size_t p = 0; p * n < pool.correct.size(); ++p) {
    int64_t made = 0;
    for (int64_t i = 0; i < n && made < cap; ++i)
      for (int64_t j = 0; j < n && made < cap; ++j)
        if (pool.correct[p * n + i] > 0.5 && pool.correct[p * n + j] < 0.5) {
          w.push_back(static_cast<int64_t>(p) * n + i);
          l.push_back(static_cast<int64_t>(p) * n + j);
          ++made;
        }
  }
  return {w, l};
}

double pair_accuracy(const torch::Tensor& scores, const std::vector<int64_t>& w, const std::vector<int64_t>& l) {
  if (w.empty()) return 0;
  int64_t ok = 0;
  for (size_t k = 0; k < w.size(); ++k) ok += scores[w[k]].item<double>() > scores[l[k]].item<double>() ? 1 : 0;
  return static_cast<double>(ok) / static_cast<double>(w.size());
}

}  // namespace

RewardModelBonResult run_reward_model_bon(const RewardModelBonRequest& req) {
  core::require(!req.out_dir.empty(), "rm-bon: no output directory");
  core::require(req.train_problems >= 1 && req.eval_problems >= 1 && req.samples >= 2 && req.max_n >= 1 &&
                    req.steps >= 1 && req.pairs_per_problem >= 1,
                "rm-bon: train_problems, eval_problems, max_n, steps, pairs_per_problem must be >= 1 and samples >= 2");
  torch::set_num_threads(static_cast<int>(std::max<int64_t>(1, req.torch_threads)));
  torch::manual_seed(req.seed);
  LoadedLm run = load_lm(req.run_dir, req.task_run_dir);
  const env::text::TextTask& task = *run.data->task();

  const SamplePool train = sample_pool(run, env::text::make_split(task, req.train_problems, req.seed), req.samples,
                                       req.temperature, req.seed + 1);
  auto [tw, tl] = make_pairs(train, req.pairs_per_problem);
  core::require(!tw.empty(), "rm-bon: no (correct, incorrect) pair among the training samples");
  ValueHead head(train.features.size(1));
  torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(req.learning_rate));
  const torch::Tensor iw = torch::tensor(tw, torch::kLong), il = torch::tensor(tl, torch::kLong);
  const torch::Tensor fw = train.features.index_select(0, iw), fl = train.features.index_select(0, il);  // (P, H)
  for (int64_t s = 0; s < req.steps; ++s) {
    opt.zero_grad();
    algo::bradley_terry_loss(head->forward(fw), head->forward(fl)).loss.backward();
    opt.step();
  }
  RewardModelBonResult res;
  res.train_pairs = static_cast<int64_t>(tw.size());
  torch::NoGradGuard ng;
  res.train_pair_accuracy = pair_accuracy(head->forward(train.features), tw, tl);

  const SamplePool eval = sample_pool(run, env::text::make_split(task, req.eval_problems, req.seed + 7), req.max_n,
                                      req.temperature, req.seed + 8);
  const torch::Tensor scores = head->forward(eval.features);  // (P·N)
  auto [ew, el] = make_pairs(eval, req.pairs_per_problem);
  res.heldout_pair_accuracy = pair_accuracy(scores, ew, el);
  for (int64_t n = 1; n <= req.max_n; n *= 2) {
    RewardModelBonPoint pt;
    pt.n = n;
    for (int64_t p = 0; p < req.eval_problems; ++p) {
      int64_t best = p * req.max_n;
      double any = 0;
      for (int64_t i = p * req.max_n; i < p * req.max_n + n; ++i) {
        if (scores[i].item<double>() > scores[best].item<double>()) best = i;
        any = std::max(any, eval.correct[i]);
      }
      pt.proxy += scores[best].item<double>();
      pt.true_accuracy += eval.correct[best];
      pt.oracle_accuracy += any;
    }
    pt.proxy /= static_cast<double>(req.eval_problems);
    pt.true_accuracy /= static_cast<double>(req.eval_problems);
    pt.oracle_accuracy /= static_cast<double>(req.eval_problems);
    res.points.push_back(pt);
  }

  std::error_code ec;
  fs::create_directories(req.out_dir, ec);
  core::require(!ec, "rm-bon: cannot create '" + req.out_dir + "': " + ec.message());
  std::ostringstream md;
  md << "train pairs " << res.train_pairs << ", pair accuracy train " << res.train_pair_accuracy << " / held-out "
     << res.heldout_pair_accuracy << "\n\n| N | proxy (RM score) | true accuracy | oracle best-of-N |\n| --- | --- | --- | --- |\n";
  nlohmann::json js = {{"train_pairs", res.train_pairs}, {"train_pair_accuracy", res.train_pair_accuracy},
                       {"heldout_pair_accuracy", res.heldout_pair_accuracy}, {"points", nlohmann::json::array()}};
  core::Curve proxy{"proxy: reward-model score", {}, {}}, truth{"true: verifier accuracy", {}, {}},
      oracle{"oracle best-of-N (verifier)", {}, {}};
  for (const RewardModelBonPoint& p : res.points) {
    char line[128];
    std::snprintf(line, sizeof(line), "| %lld | %.3f | %.3f | %.3f |\n", static_cast<long long>(p.n), p.proxy,
                  p.true_accuracy, p.oracle_accuracy);
    md << line;
    js["points"].push_back({{"n", p.n}, {"proxy", p.proxy}, {"true_accuracy", p.true_accuracy},
                            {"oracle_accuracy", p.oracle_accuracy}});
    const double x = std::log2(static_cast<double>(p.n));
    proxy.x.push_back(x), proxy.y.push_back(p.proxy);
    truth.x.push_back(x), truth.y.push_back(p.true_accuracy);
    oracle.x.push_back(x), oracle.y.push_back(p.oracle_accuracy);
  }
  core::atomic_write_file((fs::path(req.out_dir) / "rm_bon.md").string(), md.str());
  core::atomic_write_file((fs::path(req.out_dir) / "rm_bon.json").string(), js.dump(1) + "\n");
  core::PlotOptions po;
  po.title = "best-of-N by a learned reward model: proxy vs true reward";
  po.xlabel = "log2 N";
  po.ylabel = "score / accuracy";
  core::plot_curves({proxy, truth, oracle}, po, (fs::path(req.out_dir) / "rm_bon.png").string());
  return res;
}

}  // namespace rlpp::search

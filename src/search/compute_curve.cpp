#include "rlpp/search/compute_curve.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/plot.h"
#include "rlpp/core/strings.h"
#include "rlpp/sample/sampler_chain.h"
#include "rlpp/search/beam_search.h"
#include "rlpp/search/best_of_n.h"
#include "rlpp/search/loaded_lm.h"
#include "rlpp/search/lm_step_model.h"
#include "rlpp/search/mcts.h"
#include "rlpp/search/temperature_chain.h"
#include "rlpp/train/lm/lm_data.h"

namespace rlpp::search {

namespace fs = std::filesystem;

namespace {

struct Accumulator {
  double correct = 0, tokens = 0, calls = 0;
};

}  // namespace

std::vector<ComputePoint> compute_curve(const ComputeCurveRequest& req) {
  core::require(req.problems >= 1, "search-eval: problems must be >= 1");
  core::require(!req.budgets.empty(), "search-eval: no budgets");
  for (int64_t b : req.budgets) core::require(b >= 1, "search-eval: budgets must be >= 1, got " + std::to_string(b));
  core::require(req.torch_threads >= 1, "search-eval: torch_threads must be >= 1");
  const std::vector<std::string> known = ComputeCurveRequest{}.methods;
  for (const std::string& m : req.methods)
    core::require(std::find(known.begin(), known.end(), m) != known.end(),
                  "search-eval: unknown method '" + m + "'; valid: " + core::join(known, ", "));
  torch::set_num_threads(static_cast<int>(req.torch_threads));
  LoadedLm run = load_lm(req.run_dir, req.task_run_dir);
  const train::lm::LmData& data = *run.data;
  const nn::Tokenizer* tok = run.tokenizer.get();
  nn::lm::TransformerLm& model = run.model;
  const env::text::TextTask& task = *data.task();
  const std::vector<env::text::TaskInstance> problems = env::text::make_split(task, req.problems, req.seed);

  int64_t max_budget = 1;
  for (int64_t b : req.budgets) max_budget = std::max(max_budget, b);
  auto wants = [&](const std::string& m) { return std::find(req.methods.begin(), req.methods.end(), m) != req.methods.end(); };
  std::map<std::pair<std::string, int64_t>, Accumulator> acc;
  const sample::SamplerChain chain = temperature_chain(req.temperature);

  sample::GenerationOptions greedy_opts;
  greedy_opts.max_new_tokens = req.max_new_tokens;
  sample::Generator greedy(temperature_chain(0.0), greedy_opts);
  sample::GenerationOptions many_opts = greedy_opts;
  many_opts.num_return_sequences = max_budget;
  many_opts.seed = req.seed + 1;
  sample::Generator many(chain, many_opts);
  LmStepOptions step_opts;
  step_opts.rollout_max_tokens = req.max_new_tokens;
  step_opts.seed = static_cast<int64_t>(req.seed % 1000000007ULL);

  for (const env::text::TaskInstance& inst : problems) {
    const train::lm::TextExample ex{inst.prompt, inst.solution, inst};
    const std::vector<int64_t> prompt = data.tokenize(ex, *tok).prompt;
    if (wants("greedy")) {
      const sample::Generation g = greedy.generate(*model, {prompt});
      const int64_t len = g.lengths[0].item<int64_t>();
      const Tokens t(g.tokens[0].data_ptr<int64_t>(), g.tokens[0].data_ptr<int64_t>() + len);
      Accumulator& a = acc[{"greedy", 1}];
      a.correct += task.grade(inst, tok->decode(t, true));
      a.tokens += static_cast<double>(g.tokens_generated);
      a.calls += static_cast<double>(g.forward_calls);
    }
    if (wants("majority") || wants("best_of_n_logp") || wants("best_of_n_verifier")) {
      const sample::Generation g = many.generate(*model, {prompt});
      std::vector<std::string> texts;
      std::vector<double> mean_logp, correct;
      std::vector<double> cum_tokens;
      double running = 0;
      for (int64_t i = 0; i < max_budget; ++i) {
        const int64_t len = g.lengths[i].item<int64_t>();
        const Tokens t(g.tokens[i].data_ptr<int64_t>(), g.tokens[i].data_ptr<int64_t>() + len);
        texts.push_back(tok->decode(t, true));
        mean_logp.push_back(len > 0 ? g.logp[i].narrow(0, 0, len).sum().item<double>() / len : -1e30);
        correct.push_back(task.grade(inst, texts.back()));
        running += static_cast<double>(len);
        cum_tokens.push_back(running);
      }
      for (int64_t b : req.budgets) {
        const std::vector<std::string> first(texts.begin(), texts.begin() + b);
        // The first b samples of one batch of max_budget: the tokens of those b; calls as one batch.
        auto add = [&](const std::string& m, double c) {
          Accumulator& a = acc[{m, b}];
          a.correct += c;
          a.tokens += cum_tokens[b - 1];
          a.calls += static_cast<double>(g.forward_calls);
        };
        if (wants("majority")) add("majority", task.grade(inst, majority_vote(first).answer));
        if (wants("best_of_n_logp"))
          add("best_of_n_logp", correct[best_of_n(std::vector<double>(mean_logp.begin(), mean_logp.begin() + b))]);
        if (wants("best_of_n_verifier"))
          add("best_of_n_verifier", *std::max_element(correct.begin(), correct.begin() + b));
      }
    }
    for (int64_t b : req.budgets) {
      if (wants("beam")) {
        LmStepOptions so = step_opts;
        so.evaluation = "rollout";
        LmStepModel steps(*model, *tok, task, chain, so);
        steps.set_problem(inst, prompt);
        BeamSearchOptions bo;
        bo.beam_width = 1;
        bo.expansions = b;
        const BeamSearchResult r = beam_search(steps, bo);
        Accumulator& a = acc[{"beam", b}];
        a.correct += steps.grade(r.solution);
        a.tokens += static_cast<double>(r.compute.tokens_generated);
        a.calls += static_cast<double>(r.compute.model_calls);
      }
      for (const char* m : {"mcts", "mcts_pw"}) {
        if (!wants(m)) continue;
        LmStepModel steps(*model, *tok, task, chain, step_opts);
        steps.set_problem(inst, prompt);
        MctsOptions mo;
        mo.num_children = 2;
        mo.iterations = 2 * b;
        mo.root_multiplier = 1;
        mo.progressive_widening = std::string(m) == "mcts_pw";  // c_pw = 1, α_pw = ½
        const MctsResult r = Mcts(steps, mo).solve();
        Accumulator& a = acc[{m, b}];
        a.correct += steps.grade(r.solution);
        a.tokens += static_cast<double>(r.compute.tokens_generated);
        a.calls += static_cast<double>(r.compute.model_calls);
      }
    }
  }
  std::vector<ComputePoint> out;
  const double n = static_cast<double>(problems.size());
  for (const std::string& m : req.methods) {
    for (const auto& [key, a] : acc) {
      if (key.first != m) continue;
      out.push_back({m, key.second, a.correct / n, a.tokens / n, a.calls / n});
    }
  }
  return out;
}

std::string compute_table(const std::vector<ComputePoint>& points) {
  std::ostringstream s;
  s << "| method | budget | accuracy | tokens / problem | model calls / problem |\n| --- | --- | --- | --- | --- |\n";
  for (const ComputePoint& p : points) {
    char line[160];
    std::snprintf(line, sizeof(line), "| %s | %lld | %.3f | %.1f | %.1f |\n", p.method.c_str(),
                  static_cast<long long>(p.budget), p.accuracy, p.tokens_per_problem, p.model_calls_per_problem);
    s << line;
  }
  return s.str();
}

std::vector<std::string> write_compute_curve(const std::vector<ComputePoint>& points, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  core::require(!ec, "search-eval: cannot create '" + dir + "': " + ec.message());
  const std::string md = (fs::path(dir) / "compute_curve.md").string();
  const std::string js = (fs::path(dir) / "compute_curve.json").string();
  const std::string png = (fs::path(dir) / "compute_curve.png").string();
  core::atomic_write_file(md, compute_table(points));
  nlohmann::json arr = nlohmann::json::array();
  for (const ComputePoint& p : points)
    arr.push_back({{"method", p.method}, {"budget", p.budget}, {"accuracy", p.accuracy},
                   {"tokens_per_problem", p.tokens_per_problem}, {"model_calls_per_problem", p.model_calls_per_problem}});
  core::atomic_write_file(js, arr.dump(1) + "\n");
  std::vector<core::Curve> curves;
  for (const ComputePoint& p : points) {
    if (curves.empty() || curves.back().label != p.method) curves.push_back({p.method, {}, {}});
    curves.back().x.push_back(std::log2(std::max(1.0, p.tokens_per_problem)));
    curves.back().y.push_back(p.accuracy);
  }
  core::PlotOptions po;
  po.title = "accuracy against test-time compute";
  po.xlabel = "log2(tokens generated per problem)";
  po.ylabel = "accuracy";
  core::plot_curves(curves, po, png);
  return {md, js, png};
}

}  // namespace rlpp::search

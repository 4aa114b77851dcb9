#include "rlpp/search/mcts_dpo.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/rng.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/sample/sampler_chain.h"
#include "rlpp/search/lm_run.h"
#include "rlpp/search/lm_step_model.h"
#include "rlpp/search/tree_data.h"
#include "rlpp/train/lm/adamw.h"
#include "rlpp/train/lm/lm_eval.h"
#include "rlpp/train/lm/model_section.h"

namespace rlpp::search {

namespace fs = std::filesystem;

namespace {

// One pair as full sequences: prompt + prefix + step.
struct PairSeq {
  Tokens chosen, rejected;
};

// Right-padded (B, L) tokens and (B, L) bool attention of `rows`.
std::pair<torch::Tensor, torch::Tensor> pad_rows(const std::vector<const Tokens*>& rows) {
  size_t len = 0;
  for (const Tokens* r : rows) len = std::max(len, r->size());
  torch::Tensor tokens = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(len)}, torch::kLong);
  torch::Tensor att = torch::zeros_like(tokens, torch::kBool);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t t = 0; t < rows[i]->size(); ++t) {
      tokens[static_cast<int64_t>(i)][static_cast<int64_t>(t)] = (*rows[i])[t];
      att[static_cast<int64_t>(i)][static_cast<int64_t>(t)] = true;
    }
  return {tokens, att};
}

sample::SamplerChain temperature_chain(double t) {
  const core::Recipe r = core::Recipe::parse("[s]\ntemperature = " + std::to_string(t) + "\n", "mcts-dpo");
  core::Binder b = core::Binder::reader(r, "s");
  sample::SamplerChain chain = sample::build_chain({"temperature"}, b);
  b.finish();
  return chain;
}

}  // namespace

std::vector<MctsDpoRound> run_mcts_dpo(const MctsDpoRequest& req) {
  core::require(!req.out_dir.empty(), "mcts-dpo: no output directory");
  core::require(req.rounds >= 1 && req.problems >= 1 && req.eval_problems >= 1 && req.epochs >= 1 &&
                    req.batch_pairs >= 1,
                "mcts-dpo: rounds, problems, eval_problems, epochs and batch_pairs must be >= 1");
  core::require(req.learning_rate > 0, "mcts-dpo: learning_rate must be > 0");
  core::require(req.nll_weight >= 0, "mcts-dpo: nll_weight must be >= 0");
  req.mcts.validate();
  torch::set_num_threads(static_cast<int>(std::max<int64_t>(1, req.torch_threads)));
  torch::manual_seed(req.seed);
  LmRun policy = load_lm_run(req.run_dir, req.task_run_dir);
  LmRun reference = load_lm_run(req.run_dir, req.task_run_dir);
  for (auto& p : reference.model->parameters()) p.requires_grad_(false);
  const env::text::TextTask& task = *policy.data->task();
  const nn::Tokenizer& tok = *policy.tokenizer;

  std::vector<train::lm::TextExample> held_out;
  for (const auto& inst : env::text::make_split(task, req.eval_problems, req.seed + 1))
    held_out.push_back({inst.prompt, inst.solution, inst});
  auto accuracy = [&] {
    torch::NoGradGuard ng;
    policy.model->eval();
    return train::lm::greedy_accuracy(policy.model, tok, *policy.data, task, held_out, 64, 64).accuracy;
  };

  train::lm::AdamWSettings adam;
  adam.lr = req.learning_rate;
  auto opt = train::lm::make_adamw(policy.model->parameters(), adam);
  std::vector<MctsDpoRound> rounds;
  MctsDpoRound r0;
  r0.greedy_accuracy = accuracy();
  rounds.push_back(r0);
  core::Rng rng(req.seed + 2);

  for (int64_t round = 1; round <= req.rounds; ++round) {
    MctsDpoRound rec;
    rec.round = round;
    // Search: the current policy proposes the steps.
    std::vector<PairSeq> pairs;
    const auto problems = env::text::make_split(task, req.problems, req.seed + 100 + static_cast<uint64_t>(round));
    {
      torch::NoGradGuard ng;
      policy.model->eval();
      LmStepOptions so;
      so.seed = static_cast<int64_t>(req.seed) + round;
      LmStepModel steps(*policy.model, tok, task, temperature_chain(req.temperature), so);
      for (const auto& inst : problems) {
        const Tokens prompt = policy.data->tokenize({inst.prompt, inst.solution, inst}, tok).prompt;
        steps.set_problem(inst, prompt);
        Mcts tree(steps, req.mcts);
        const MctsResult res = tree.solve();
        rec.search_reward += res.reward / static_cast<double>(problems.size());
        for (const StepPreference& p : step_preferences(tree, req.min_gap)) {
          PairSeq s;
          s.chosen = prompt;
          s.chosen.insert(s.chosen.end(), p.prefix.begin(), p.prefix.end());
          s.rejected = s.chosen;
          s.chosen.insert(s.chosen.end(), p.chosen.begin(), p.chosen.end());
          s.rejected.insert(s.rejected.end(), p.rejected.begin(), p.rejected.end());
          pairs.push_back(std::move(s));
        }
      }
      rec.tokens_generated = steps.compute().tokens_generated;
    }
    rec.pairs = static_cast<int64_t>(pairs.size());
    // DPO on the round's pairs, step level (from the divergence point), against the reference.
    for (int64_t epoch = 0; epoch < req.epochs && !pairs.empty(); ++epoch) {
      std::vector<size_t> order(pairs.size());
      std::iota(order.begin(), order.end(), 0);
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
      for (size_t start = 0; start < order.size(); start += static_cast<size_t>(req.batch_pairs)) {
        std::vector<const Tokens*> cw, cl;
        for (size_t j = start; j < std::min(order.size(), start + static_cast<size_t>(req.batch_pairs)); ++j) {
          cw.push_back(&pairs[order[j]].chosen);
          cl.push_back(&pairs[order[j]].rejected);
        }
        auto [tw, aw] = pad_rows(cw);  // (B, Lw)
        auto [tl, al] = pad_rows(cl);  // (B, Ll)
        auto [mw, ml] = algo::divergence_masks(tw, aw, tl, al);
        algo::PreferenceInput in;
        {
          torch::NoGradGuard ng;
          in.ref_logp_chosen = nn::lm::token_logprobs(reference.model, tw, aw).logp;
          in.ref_logp_rejected = nn::lm::token_logprobs(reference.model, tl, al).logp;
        }
        policy.model->train();
        in.logp_chosen = nn::lm::token_logprobs(policy.model, tw, aw).logp;
        in.logp_rejected = nn::lm::token_logprobs(policy.model, tl, al).logp;
        in.mask_chosen = mw;
        in.mask_rejected = ml;
        const algo::PreferenceOutput out = algo::dpo_loss(in, req.dpo);
        torch::Tensor loss = out.loss;
        if (req.nll_weight > 0)
          loss = loss - req.nll_weight * (in.logp_chosen * mw).sum() / mw.sum().clamp_min(1.0);
        opt->zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(policy.model->parameters(), 1.0);
        opt->step();
        const double l = out.loss.item<double>();
        if (epoch == 0 && start == 0) rec.dpo_loss_first = l;
        rec.dpo_loss_last = l;
        rec.reward_accuracy_last = out.metrics.at(algo::metric::kRewardAccuracy).item<double>();
      }
    }
    rec.greedy_accuracy = accuracy();
    rounds.push_back(rec);
    // Refresh: the trained policy is the next round's reference (and searches it).
    {
      torch::NoGradGuard ng;
      auto dst = reference.model->parameters();
      auto src = policy.model->parameters();
      for (size_t i = 0; i < dst.size(); ++i) dst[i].copy_(src[i]);
    }
  }

  std::error_code ec;
  fs::create_directories(fs::path(req.out_dir) / "model", ec);
  core::require(!ec, "mcts-dpo: cannot create '" + req.out_dir + "': " + ec.message());
  nn::lm::save_pretrained((fs::path(req.out_dir) / "model").string(), policy.model);
  // A loadable run directory: the recipe and the tokenizer travel with the model.
  train::lm::save_tokenizer(tok, policy.tokenizer_source, (fs::path(req.out_dir) / "model").string());
  fs::copy_file(fs::path(req.run_dir) / "recipe.toml", fs::path(req.out_dir) / "recipe.toml",
                fs::copy_options::overwrite_existing, ec);
  core::require(!ec, "mcts-dpo: cannot copy the recipe into '" + req.out_dir + "': " + ec.message());
  nlohmann::json arr = nlohmann::json::array();
  for (const MctsDpoRound& r : rounds)
    arr.push_back({{"round", r.round}, {"pairs", r.pairs}, {"search_reward", r.search_reward},
                   {"dpo_loss_first", r.dpo_loss_first}, {"dpo_loss_last", r.dpo_loss_last},
                   {"reward_accuracy_last", r.reward_accuracy_last}, {"greedy_accuracy", r.greedy_accuracy},
                   {"tokens_generated", r.tokens_generated}});
  core::atomic_write_file((fs::path(req.out_dir) / "mcts_dpo.json").string(), arr.dump(1) + "\n");
  return rounds;
}

}  // namespace rlpp::search

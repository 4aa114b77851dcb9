#include "rlpp/search/trainers/mcts_dpo.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/rng.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/sample/sampler_chain.h"
#include "rlpp/search/loaded_lm.h"
#include "rlpp/search/lm_step_model.h"
#include "rlpp/search/step_dpo.h"
#include "rlpp/search/temperature_chain.h"
#include "rlpp/search/tree_data.h"
#include "rlpp/train/lm/adamw.h"
#include "rlpp/train/lm/lm_eval.h"
#include "rlpp/train/lm/model_section.h"

namespace rlpp::search {

namespace fs = std::filesystem;

std::vector<MctsDpoRound> run_mcts_dpo(const MctsDpoRequest& req) {
  core::require(!req.out_dir.empty(), "mcts-dpo: no output directory");
  core::require(req.rounds >= 1 && req.problems >= 1 && req.eval_problems >= 1 && req.epochs >= 1 &&
                    req.batch_pairs >= 1,
                "mcts-dpo: rounds, problems, eval_problems, epochs and batch_pairs must be >= 1");
  core::require(req.learning_rate > 0, "mcts-dpo: learning_rate must be > 0");
  StepDpoOptions dpo;
  dpo.loss = req.loss;
  dpo.beta = req.dpo.beta;
  dpo.label_smoothing = req.dpo.label_smoothing;
  dpo.nll_weight = req.nll_weight;
  dpo.epochs = req.epochs;
  dpo.batch_pairs = req.batch_pairs;
  dpo.validate();
  req.mcts.validate();
  torch::set_num_threads(static_cast<int>(std::max<int64_t>(1, req.torch_threads)));
  torch::manual_seed(req.seed);
  LoadedLm policy = load_lm(req.run_dir, req.task_run_dir);
  LoadedLm reference = load_lm(req.run_dir, req.task_run_dir);
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
    std::vector<PairSequences> pairs;
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
        for (PairSequences& s : pair_sequences(prompt, step_preferences(tree, req.min_gap))) pairs.push_back(std::move(s));
      }
      rec.tokens_generated = steps.compute().tokens_generated;
    }
    rec.pairs = static_cast<int64_t>(pairs.size());
    // DPO / IPO on the round's pairs, step level (from the divergence point), against the reference.
    const StepDpoStats st = train_step_dpo(policy.model, reference.model, pairs, dpo, *opt, rng);
    rec.dpo_loss_first = st.loss_first;
    rec.dpo_loss_last = st.loss_last;
    rec.reward_accuracy_last = st.reward_accuracy_last;
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

#include "rlpp/search/lm_step_model.h"

#include <string>

#include "rlpp/core/error.h"

namespace rlpp::search {

void LmStepOptions::bind(core::Binder& b) {
  b.integer("max_step_tokens", max_step_tokens, "most tokens in one step (line)", core::Bounds::at_least(1));
  b.choice("evaluation", evaluation, {"none", "rollout"}, "value of a partial solution");
  b.integer("rollout_max_tokens", rollout_max_tokens, "most tokens of an evaluation rollout", core::Bounds::at_least(1));
  b.choice("terminal_reward", terminal_reward, {"verifier", "value"}, "score of a finished solution");
  b.integer("seed", seed, "sampling seed", core::Bounds::at_least(0));
}

void LmStepOptions::validate() const {
  core::require(evaluation == "none" || evaluation == "rollout",
                "lm step model: evaluation must be none or rollout, got '" + evaluation + "'");
  core::require(terminal_reward == "verifier" || terminal_reward == "value",
                "lm step model: terminal_reward must be verifier or value, got '" + terminal_reward + "'");
  core::require(max_step_tokens >= 1, "lm step model: max_step_tokens must be >= 1");
  core::require(rollout_max_tokens >= 1, "lm step model: rollout_max_tokens must be >= 1");
}

LmStepModel::LmStepModel(nn::lm::CausalLm& model, const nn::Tokenizer& tok, const env::text::TextTask& task,
                         sample::SamplerChain chain, LmStepOptions opts)
    : model_(model), tok_(tok), task_(task), chain_(std::move(chain)), opts_(std::move(opts)) {
  opts_.validate();
  const std::vector<int64_t> nl = tok_.encode("\n");
  core::require(nl.size() == 1, "lm step model: the tokenizer must encode a newline as one token (steps are lines)");
  newline_ = nl[0];
  eos_ = model_.lm_config().eos_token_id >= 0 ? model_.lm_config().eos_token_id : tok_.eos_id;
}

void LmStepModel::set_problem(const env::text::TaskInstance& inst, Tokens prompt_tokens) {
  inst_ = inst;
  prompt_ = prompt_tokens.empty() ? tok_.encode(inst.prompt) : std::move(prompt_tokens);
  core::require(!prompt_.empty(), "lm step model: empty prompt");
}

sample::Generator& LmStepModel::generator(int64_t k, int64_t max_new_tokens) {
  auto& g = generators_[{k, max_new_tokens}];
  if (!g) {
    sample::GenerationOptions go;
    go.max_new_tokens = max_new_tokens;
    go.num_return_sequences = k;
    go.stop_tokens = {newline_};
    go.stop_at_eos = true;
    go.seed = opts_.seed + 7919 * static_cast<int64_t>(generators_.size());
    g = std::make_unique<sample::Generator>(chain_, go);
  }
  return *g;
}

std::vector<std::vector<StepCandidate>> LmStepModel::expand(const std::vector<Tokens>& states, int64_t k) {
  core::require(!prompt_.empty(), "lm step model: set_problem before searching");
  std::vector<std::vector<int64_t>> prompts;
  for (const Tokens& s : states) {
    Tokens p = prompt_;
    p.insert(p.end(), s.begin(), s.end());
    prompts.push_back(std::move(p));
  }
  const sample::Generation g = generator(k, opts_.max_step_tokens).generate(model_, prompts);
  counters_.tokens_generated += g.tokens_generated;
  counters_.model_calls += g.forward_calls;
  counters_.expansions += static_cast<int64_t>(states.size());
  const torch::Tensor tokens = g.tokens.to(torch::kCPU);  // (B, N), B = states · k
  const torch::Tensor logp = g.logp.to(torch::kCPU).to(torch::kDouble);
  const torch::Tensor lengths = g.lengths.to(torch::kCPU);
  std::vector<std::vector<StepCandidate>> out(states.size());
  const bool by_value = opts_.terminal_reward == "value";
  core::require(!by_value || value_fn_, "lm step model: terminal_reward = \"value\" needs a value function");
  std::vector<Tokens> finished;              // prompt + state + step of terminal candidates (by value)
  std::vector<std::pair<size_t, size_t>> finished_slot;
  for (int64_t row = 0; row < tokens.size(0); ++row) {
    const size_t si = static_cast<size_t>(row / k);
    const int64_t len = lengths[row].item<int64_t>();
    if (len == 0) continue;
    StepCandidate c;
    for (int64_t t = 0; t < len; ++t) c.tokens.push_back(tokens[row][t].item<int64_t>());
    c.logp = logp[row].narrow(0, 0, len).sum().item<double>();
    // A step is a line: only a newline continues the solution; EOS or a line cut at
    // max_step_tokens ends it and the verifier grades it.
    c.terminal = c.tokens.back() != newline_;
    if (c.terminal) {
      Tokens full = states[si];
      full.insert(full.end(), c.tokens.begin(), c.tokens.end());
      if (by_value) {
        Tokens seq = prompt_;
        seq.insert(seq.end(), full.begin(), full.end());
        finished.push_back(std::move(seq));
        finished_slot.emplace_back(si, out[si].size());
      } else {
        c.reward = 2.0 * grade(full) - 1.0;
      }
    }
    out[si].push_back(std::move(c));
  }
  if (!finished.empty()) {  // one batched call values every finished candidate
    ++counters_.model_calls;
    const std::vector<double> v = value_fn_(finished);
    for (size_t i = 0; i < finished_slot.size(); ++i) out[finished_slot[i].first][finished_slot[i].second].reward = v.at(i);
  }
  return out;
}

std::vector<double> LmStepModel::evaluate(const std::vector<Tokens>& states) {
  counters_.evaluations += static_cast<int64_t>(states.size());
  if (value_fn_) {
    std::vector<Tokens> seqs;
    for (const Tokens& s : states) {
      Tokens p = prompt_;
      p.insert(p.end(), s.begin(), s.end());
      seqs.push_back(std::move(p));
    }
    ++counters_.model_calls;
    return value_fn_(seqs);
  }
  if (opts_.evaluation == "none") return std::vector<double>(states.size(), 0.0);
  // Rollout: one sampled completion per state (no newline stop), graded: 2·grade − 1.
  std::vector<std::vector<int64_t>> prompts;
  for (const Tokens& s : states) {
    Tokens p = prompt_;
    p.insert(p.end(), s.begin(), s.end());
    prompts.push_back(std::move(p));
  }
  sample::GenerationOptions go;
  go.max_new_tokens = opts_.rollout_max_tokens;
  go.stop_at_eos = true;
  go.seed = opts_.seed + 104729 + counters_.evaluations;
  sample::Generator rollout(chain_, go);
  const sample::Generation g = rollout.generate(model_, prompts);
  counters_.tokens_generated += g.tokens_generated;
  counters_.model_calls += g.forward_calls;
  const torch::Tensor tokens = g.tokens.to(torch::kCPU);
  const torch::Tensor lengths = g.lengths.to(torch::kCPU);
  std::vector<double> v;
  for (size_t i = 0; i < states.size(); ++i) {
    Tokens full = states[i];
    const int64_t len = lengths[static_cast<int64_t>(i)].item<int64_t>();
    for (int64_t t = 0; t < len; ++t) full.push_back(tokens[static_cast<int64_t>(i)][t].item<int64_t>());
    v.push_back(2.0 * grade(full) - 1.0);
  }
  return v;
}

std::string LmStepModel::text(const Tokens& steps) const { return tok_.decode(steps, /*skip_special=*/true); }

double LmStepModel::grade(const Tokens& steps) const { return task_.grade(inst_, text(steps)); }

}  // namespace rlpp::search

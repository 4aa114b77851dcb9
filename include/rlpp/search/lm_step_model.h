// A language model as a StepModel for one text-task problem: a step is one line of a worked
// solution, ended by the newline token (or by EOS, which ends the solution). Expansion samples k
// lines per state with the batched generation engine (all states of a call in one batch); terminal
// steps are graded by the task's verifier (reward 2·grade − 1 ∈ {−1, +1}); non-terminal states are
// valued by a value function (a value head, reward model), by one sampled rollout to the end graded
// by the verifier, or not at all (0).
//
//   search::LmStepModel steps(model, tok, task, sample::default_chain({"temperature"}), opts);
//   steps.set_problem(instance);
//   search::MctsResult r = search::Mcts(steps, mcts_opts).solve();
//   std::string text = steps.text(r.solution);   // graded with task.grade(instance, text)
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/env/text/task.h"
#include "rlpp/nn/lm/causal_lm.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/sample/generator.h"
#include "rlpp/search/step_model.h"

namespace rlpp::search {

struct LmStepOptions {
  int64_t max_step_tokens = 32;     // a longer line ends the solution (terminal, graded)
  std::string evaluation = "none";  // "none" (0), "rollout" (graded sampled completion); a value
                                    // function set with set_value_fn overrides both
  int64_t rollout_max_tokens = 128;
  // How a finished solution is scored: "verifier" (2·grade − 1, an oracle at test time) or "value"
  // (the value function on the full sequence: a deployable value-guided search, AlphaMath's
  // inference; needs set_value_fn).
  std::string terminal_reward = "verifier";
  int64_t seed = 0;

  void bind(core::Binder& b);
  void validate() const;
};

// Values of full token sequences (prompt + steps), e.g. a value head's tanh(v) at the last token.
using SequenceValueFn = std::function<std::vector<double>(const std::vector<Tokens>& sequences)>;

class LmStepModel : public StepModel {
 public:
  // `model`, `tok` and `task` must outlive this object. The chain is shared by every search.
  LmStepModel(nn::lm::CausalLm& model, const nn::Tokenizer& tok, const env::text::TextTask& task,
              sample::SamplerChain chain, LmStepOptions opts);

  // prompt_tokens: the prompt as the model was trained on it (e.g. LmData::tokenize(..).prompt, with
  // BOS); empty: tok.encode(inst.prompt).
  void set_problem(const env::text::TaskInstance& inst, Tokens prompt_tokens = {});
  void set_value_fn(SequenceValueFn fn) { value_fn_ = std::move(fn); }

  std::vector<std::vector<StepCandidate>> expand(const std::vector<Tokens>& states, int64_t k) override;
  std::vector<double> evaluate(const std::vector<Tokens>& states) override;
  SearchCompute compute() const override { return counters_; }

  std::string text(const Tokens& steps) const;  // the solution text (special tokens dropped)
  double grade(const Tokens& steps) const;      // the task's grade (0/1) of a solution
  const Tokens& prompt_tokens() const { return prompt_; }
  int64_t newline_token() const { return newline_; }

 private:
  sample::Generator& generator(int64_t k, int64_t max_new_tokens);

  nn::lm::CausalLm& model_;
  const nn::Tokenizer& tok_;
  const env::text::TextTask& task_;
  sample::SamplerChain chain_;
  LmStepOptions opts_;
  int64_t newline_ = -1;
  int64_t eos_ = -1;
  env::text::TaskInstance inst_;
  Tokens prompt_;
  SequenceValueFn value_fn_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<sample::Generator>> generators_;  // (k, max_new)
  SearchCompute counters_;
};

}  // namespace rlpp::search

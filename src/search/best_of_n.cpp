#include "rlpp/search/best_of_n.h"

#include <map>

#include "rlpp/core/error.h"
#include "rlpp/env/text/task.h"
#include "rlpp/train/lm/lm_eval.h"

namespace rlpp::search {

SampledSolutions sample_solutions(nn::lm::CausalLm& model, const nn::Tokenizer& tok, sample::Generator& gen,
                                  const std::string& prompt) {
  const std::vector<int64_t> p = tok.encode(prompt);
  core::require(!p.empty(), "best_of_n: empty prompt");
  const sample::Generation g = gen.generate(model, {p});
  const torch::Tensor tokens = g.tokens.to(torch::kCPU);                     // (N, L)
  const torch::Tensor logp = g.logp.to(torch::kCPU).to(torch::kDouble);      // (N, L)
  const torch::Tensor lengths = g.lengths.to(torch::kCPU);                   // (N)
  SampledSolutions out;
  for (int64_t i = 0; i < tokens.size(0); ++i) {
    const int64_t len = lengths[i].item<int64_t>();
    Tokens t(tokens[i].data_ptr<int64_t>(), tokens[i].data_ptr<int64_t>() + len);
    out.texts.push_back(tok.decode(t, /*skip_special=*/true));
    out.logp.push_back(logp[i].narrow(0, 0, len).sum().item<double>());
    out.tokens.push_back(std::move(t));
  }
  out.compute.tokens_generated = g.tokens_generated;
  out.compute.model_calls = g.forward_calls;
  return out;
}

size_t best_of_n(const std::vector<double>& scores) {
  core::require(!scores.empty(), "best_of_n: no scores");
  size_t best = 0;
  for (size_t i = 1; i < scores.size(); ++i)
    if (scores[i] > scores[best]) best = i;
  return best;
}

Vote majority_vote(const std::vector<std::string>& texts) {
  std::vector<std::string> answers;
  for (const std::string& t : texts) answers.push_back(env::text::final_answer(t));
  Vote v;
  v.answer = train::lm::majority_answer(answers);
  for (const std::string& a : answers) v.count += a == v.answer ? 1 : 0;
  return v;
}

}  // namespace rlpp::search

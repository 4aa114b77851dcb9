// Solution-level search over the generation engine: N sampled solutions per problem, then
// best-of-N (the highest score under a verifier or a learned reward model) or self-consistency
// (majority vote over final answers, arXiv 2203.11171).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rlpp/nn/lm/causal_lm.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/sample/generator.h"
#include "rlpp/search/step_model.h"

namespace rlpp::search {

struct SampledSolutions {
  std::vector<Tokens> tokens;           // (N) response tokens, stop/EOS included
  std::vector<std::string> texts;       // (N) decoded, special tokens dropped
  std::vector<double> logp;             // (N) Σ log π(token) at temperature 1
  SearchCompute compute;
};

// N = gen.options().num_return_sequences solutions of one prompt in one batch.
SampledSolutions sample_solutions(nn::lm::CausalLm& model, const nn::Tokenizer& tok, sample::Generator& gen,
                                  const std::string& prompt);

// Index of the highest score (ties: the earliest). UserError on an empty list.
size_t best_of_n(const std::vector<double>& scores);

// Self-consistency: the most frequent final answer (env::text::final_answer) of the texts, ties to
// the answer that reached the count first; `count` votes.
struct Vote {
  std::string answer;
  int64_t count = 0;
};
Vote majority_vote(const std::vector<std::string>& texts);

}  // namespace rlpp::search

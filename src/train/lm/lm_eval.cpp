#include "rlpp/train/lm/lm_eval.h"

#include <algorithm>

#include "rlpp/core/error.h"
#include "rlpp/sample/generator.h"

namespace rlpp::train::lm {

double eval_loss(nn::lm::TransformerLm& model, const std::vector<LmExample>& examples, const LayoutOptions& layout,
                 int64_t batch_size, int64_t logprob_chunk) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  double nll = 0, count = 0;
  for (size_t i = 0; i < examples.size(); i += static_cast<size_t>(batch_size)) {
    const std::vector<LmExample> part(examples.begin() + static_cast<std::ptrdiff_t>(i),
                                      examples.begin() + static_cast<std::ptrdiff_t>(std::min(examples.size(), i + batch_size)));
    const LmBatch b = pad_examples(part, layout);
    const auto lp = nn::lm::token_logprobs(model, b.tokens, b.attention, logprob_chunk);
    nll -= (lp.logp * b.loss_mask).sum().item<double>();
    count += b.loss_mask.sum().item<double>();
  }
  model->train(was_training);
  return count > 0 ? nll / count : 0.0;
}

AccuracyResult greedy_accuracy(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data,
                               const env::text::TextTask& task, const std::vector<TextExample>& examples,
                               int64_t batch_size, int64_t max_new_tokens) {
  const bool was_training = model->is_training();
  model->eval();
  sample::GenerationOptions g;
  g.max_new_tokens = max_new_tokens;
  if (tok.eos_id >= 0) g.stop_tokens = {tok.eos_id};
  sample::Generator gen(sample::default_chain({"temperature"}), g);
  AccuracyResult out;
  double correct = 0, length = 0;
  for (size_t i = 0; i < examples.size(); i += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(examples.size(), i + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> prompts;
    for (size_t k = i; k < end; ++k) prompts.push_back(data.tokenize(examples[k], tok).prompt);
    // Temperature 0 in every row: argmax decoding.
    const auto zero = torch::zeros({static_cast<int64_t>(prompts.size())}, torch::kFloat32);
    const sample::Generation res = gen.generate(*model, prompts, zero);
    for (size_t k = i; k < end; ++k) {
      const auto r = static_cast<int64_t>(k - i);
      const int64_t n = res.lengths[r].item<int64_t>();
      const auto row = res.tokens[r].slice(0, 0, n).contiguous();
      const std::string text = tok.decode({row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + n}, /*skip_special=*/true);
      correct += task.grade(examples[k].instance, text);
      length += static_cast<double>(n);
      out.responses.push_back(text);
    }
  }
  model->train(was_training);
  out.examples = static_cast<int64_t>(examples.size());
  out.accuracy = out.examples ? correct / static_cast<double>(out.examples) : 0.0;
  out.mean_length = out.examples ? length / static_cast<double>(out.examples) : 0.0;
  return out;
}

void append_accuracy(std::vector<std::pair<std::string, double>>& row, nn::lm::TransformerLm& model,
                     const nn::Tokenizer& tok, const LmData& data, int64_t n, int64_t batch_size, int64_t max_new_tokens) {
  const auto& all = data.eval_set();
  const std::vector<TextExample> some(all.begin(), all.begin() + std::min<int64_t>(n, static_cast<int64_t>(all.size())));
  const AccuracyResult acc = greedy_accuracy(model, tok, data, *data.task(), some, batch_size, max_new_tokens);
  row.emplace_back("eval/accuracy", acc.accuracy);
  row.emplace_back("eval/response_length", acc.mean_length);
}

EvalResult evaluate_greedy(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data, int examples,
                           uint64_t seed, int64_t batch_size, int64_t max_new_tokens) {
  core::require(examples >= 1, "--episodes must be at least 1, got " + std::to_string(examples));
  core::require(data.task() != nullptr, "rlpp eval of a language-model run needs task data (data.source = \"task\")");
  std::vector<TextExample> held_out;
  for (auto& inst : env::text::make_split(*data.task(), examples, seed)) held_out.push_back({inst.prompt, inst.answer, inst});
  const AccuracyResult acc = greedy_accuracy(model, tok, data, *data.task(), held_out, batch_size, max_new_tokens);
  EvalResult r;
  r.score_name = "greedy_accuracy";
  r.episodes = examples;
  r.mean_return = acc.accuracy;
  r.mean_length = acc.mean_length;
  return r;
}

}  // namespace rlpp::train::lm

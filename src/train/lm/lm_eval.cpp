#include "rlpp/train/lm/lm_eval.h"

#include <algorithm>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/env/text/turn_env.h"
#include "rlpp/sample/generator.h"
#include "rlpp/train/lm/multi_turn.h"

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
  const auto* dialogue = dynamic_cast<const env::text::MultiTurnTask*>(&task);
  for (size_t i = 0; i < examples.size(); i += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(examples.size(), i + static_cast<size_t>(batch_size));
    if (dialogue) {  // whole greedy episodes, scored by the environment
      std::vector<std::unique_ptr<env::text::TurnEnv>> envs;
      for (size_t k = i; k < end; ++k) envs.push_back(dialogue->episode(examples[k].instance));
      MultiTurnOptions mt;
      mt.temperature = 0.0;
      const RolloutBatch b = multi_turn_rollout(*model, tok, gen, envs, std::vector<int64_t>(end - i, 0), mt);
      for (size_t k = i; k < end; ++k) {
        const auto r = static_cast<int64_t>(k - i);
        const auto row = b.tokens[r].masked_select(b.attend[r]).contiguous();
        correct += b.correct[r].item<double>();
        length += b.lengths[r].item<double>();
        out.responses.push_back(tok.decode({row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()}, true));
      }
      continue;
    }
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

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n - c < k) return 1.0;
  double miss = 1.0;  // probability that k draws without replacement all miss
  for (int64_t i = n - c + 1; i <= n; ++i) miss *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1.0 - miss;
}

std::string majority_answer(const std::vector<std::string>& answers) {
  std::string best;
  int64_t best_count = 0;
  std::map<std::string, int64_t> counts;
  for (const auto& a : answers) {
    const int64_t c = ++counts[a];
    if (c > best_count) {  // strictly more: ties stay with the answer that reached the count first
      best = a;
      best_count = c;
    }
  }
  return best;
}

namespace {

// n sampled responses per problem: per-problem correct counts, majority votes and the JSONL lines.
struct SampledStats {
  std::vector<int64_t> correct;   // (P)
  std::vector<double> majority;   // (P) 1 when the majority answer is graded correct
  std::vector<double> lengths;    // (P·n)
  double entropy_sum = 0, entropy_tokens = 0;
  std::string jsonl;
};

SampledStats sample_responses(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data,
                              const std::vector<TextExample>& examples, const std::vector<std::string>& greedy,
                              const EvalRequest& req, int64_t batch_size, int64_t max_new_tokens) {
  const env::text::TextTask& task = *data.task();
  sample::GenerationOptions g;
  g.max_new_tokens = max_new_tokens;
  g.num_return_sequences = req.samples;
  g.seed = static_cast<int64_t>(req.seed);
  if (tok.eos_id >= 0) g.stop_tokens = {tok.eos_id};
  sample::Generator gen(sample::default_chain({"temperature"}), g);
  SampledStats st;
  const int64_t n = req.samples;
  const int64_t prompts_per_batch = std::max<int64_t>(1, batch_size / n);
  for (size_t i = 0; i < examples.size(); i += static_cast<size_t>(prompts_per_batch)) {
    const size_t end = std::min(examples.size(), i + static_cast<size_t>(prompts_per_batch));
    std::vector<std::vector<int64_t>> prompts;
    for (size_t k = i; k < end; ++k) prompts.push_back(data.tokenize(examples[k], tok).prompt);
    const auto temps = torch::full({static_cast<int64_t>(prompts.size())}, req.temperature, torch::kFloat32);
    const sample::Generation res = gen.generate(*model, prompts, temps);
    const torch::Tensor mask = res.mask.to(torch::kFloat32);
    st.entropy_sum += (res.entropy * mask).sum().item<double>();
    st.entropy_tokens += mask.sum().item<double>();
    for (size_t k = i; k < end; ++k) {
      nlohmann::json line = {{"prompt", examples[k].prompt}, {"answer", examples[k].instance.answer},
                             {"greedy", greedy[k]}};
      std::vector<std::string> answers;
      int64_t correct = 0;
      for (int64_t j = 0; j < n; ++j) {
        const int64_t r = static_cast<int64_t>(k - i) * n + j;
        const int64_t len = res.lengths[r].item<int64_t>();
        const auto row = res.tokens[r].slice(0, 0, len).contiguous();
        const std::string text = tok.decode({row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + len}, true);
        const double reward = task.grade(examples[k].instance, text);
        correct += reward >= 1.0;
        answers.push_back(env::text::final_answer(text));
        st.lengths.push_back(static_cast<double>(len));
        line["samples"].push_back({{"response", text}, {"reward", reward}, {"tokens", len}});
      }
      const std::string vote = majority_answer(answers);
      const double maj = task.grade(examples[k].instance, vote);
      st.correct.push_back(correct);
      st.majority.push_back(maj);
      line["correct"] = correct;
      line["majority"] = vote;
      line["majority_correct"] = maj;
      st.jsonl += line.dump() + "\n";
    }
  }
  return st;
}

}  // namespace

EvalResult evaluate_lm(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data,
                       const EvalRequest& req, int64_t batch_size, int64_t max_new_tokens) {
  core::require(req.episodes >= 1, "--episodes must be at least 1, got " + std::to_string(req.episodes));
  core::require(req.samples >= 0, "--samples must be >= 0, got " + std::to_string(req.samples));
  core::require(data.task() != nullptr, "rlpp eval of a language-model run needs task data (data.source = \"task\")");
  std::vector<TextExample> held_out;
  for (auto& inst : env::text::make_split(*data.task(), req.episodes, req.seed)) {
    held_out.push_back({inst.prompt, inst.answer, inst});
  }
  const AccuracyResult acc = greedy_accuracy(model, tok, data, *data.task(), held_out, batch_size, max_new_tokens);
  EvalResult r;
  r.score_name = "greedy_accuracy";
  r.episodes = req.episodes;
  r.mean_return = acc.accuracy;
  r.mean_length = acc.mean_length;
  if (req.samples > 0) {
    const bool was_training = model->is_training();
    model->eval();
    const SampledStats st = sample_responses(model, tok, data, held_out, acc.responses, req, batch_size, max_new_tokens);
    model->train(was_training);
    const int64_t n = req.samples;
    std::vector<int64_t> ks;
    for (int64_t k = 1; k < n; k *= 2) ks.push_back(k);
    ks.push_back(n);
    for (int64_t k : ks) {
      double sum = 0;
      for (int64_t c : st.correct) sum += pass_at_k(n, c, k);
      r.extra.emplace_back("pass@" + std::to_string(k), sum / static_cast<double>(st.correct.size()));
    }
    double maj = 0;
    for (double m : st.majority) maj += m;
    r.extra.emplace_back("maj@" + std::to_string(n), maj / static_cast<double>(st.majority.size()));
    double mean = 0, sq = 0;
    for (double l : st.lengths) mean += l / static_cast<double>(st.lengths.size());
    for (double l : st.lengths) sq += (l - mean) * (l - mean) / static_cast<double>(st.lengths.size());
    r.extra.emplace_back("sampled_length_mean", mean);
    r.extra.emplace_back("sampled_length_std", std::sqrt(sq));
    r.extra.emplace_back("sampled_entropy", st.entropy_tokens > 0 ? st.entropy_sum / st.entropy_tokens : 0.0);
    if (!req.samples_path.empty()) core::atomic_write_file(req.samples_path, st.jsonl);
  } else if (!req.samples_path.empty()) {
    std::string jsonl;
    for (size_t k = 0; k < held_out.size(); ++k) {
      jsonl += nlohmann::json({{"prompt", held_out[k].prompt}, {"answer", held_out[k].instance.answer},
                               {"greedy", acc.responses[k]}})
                   .dump() +
               "\n";
    }
    core::atomic_write_file(req.samples_path, jsonl);
  }
  return r;
}

}  // namespace rlpp::train::lm

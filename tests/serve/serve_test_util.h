// Shared pieces of the server tests: a character tokenizer with the plain chat format's role
// tokens, a backend that answers every row with a given text (so tool calls and token counts are
// known exactly), and a tiny random transformer.
#pragma once
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/tiny_lm.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"
#include "rlpp/serve/backend.h"
#include "rlpp/serve/server.h"

namespace rlpp::serve::testing {

// Printable ASCII and '\n'; ids: specials 0..6, then the characters.
inline std::unique_ptr<nn::CharTokenizer> make_tokenizer() {
  std::string alphabet;
  for (char c = 32; c < 127; ++c) alphabet += c;
  alphabet += '\n';
  return std::make_unique<nn::CharTokenizer>(rlpp::testing::char_tokenizer_spec(
      alphabet, {"<pad>", "<bos>", "<eos>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>"}));
}

// Answers every row with encode(text) + eos, cut to the row's budget (then "length"). Records
// the batch sizes; optionally sleeps (so that concurrent requests meet) or throws.
class ScriptedBackend final : public Backend {
 public:
  explicit ScriptedBackend(std::string text, int64_t context = 0)
      : tok_(make_tokenizer()), text_(std::move(text)), context_(context) {}

  std::vector<RowOutput> generate(const BatchSpec& batch) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      batch_sizes_.push_back(static_cast<int64_t>(batch.rows.size()));
      last_ = batch;
    }
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (fail_next.exchange(false)) throw std::runtime_error("scripted failure");
    std::vector<int64_t> full;
    {
      std::lock_guard<std::mutex> lk(mu_);
      full = tok_->encode(text_);
    }
    full.push_back(tok_->eos_id);
    std::vector<RowOutput> out;
    for (const RowSpec& r : batch.rows) {
      RowOutput o;
      const int64_t n = std::min<int64_t>(r.max_new_tokens, full.size());
      o.tokens.assign(full.begin(), full.begin() + n);
      o.stopped = n == static_cast<int64_t>(full.size());
      out.push_back(std::move(o));
    }
    return out;
  }
  const nn::Tokenizer& tokenizer() const override { return *tok_; }
  int64_t context_length() const override { return context_; }

  void set_text(std::string t) {
    std::lock_guard<std::mutex> lk(mu_);
    text_ = std::move(t);
  }
  std::vector<int64_t> batch_sizes() {
    std::lock_guard<std::mutex> lk(mu_);
    return batch_sizes_;
  }
  BatchSpec last_batch() {
    std::lock_guard<std::mutex> lk(mu_);
    return last_;
  }

  std::atomic<int> delay_ms{0};
  std::atomic<bool> fail_next{false};

 private:
  std::unique_ptr<nn::CharTokenizer> tok_;
  std::mutex mu_;
  std::string text_;
  int64_t context_;
  std::vector<int64_t> batch_sizes_;
  BatchSpec last_;
};

// A 1-layer random Llama over the tokenizer's vocabulary (eos = the tokenizer's).
inline nn::lm::TransformerLm make_tiny_model(const nn::Tokenizer& tok, uint64_t seed = 0) {
  nn::lm::LmConfig cfg = rlpp::testing::tiny_lm_config(tok.vocab_size(), /*hidden=*/32, /*max_positions=*/128);
  cfg.bos_token_id = tok.bos_id;
  cfg.eos_token_id = tok.eos_id;
  cfg.pad_token_id = tok.pad_id;
  nn::lm::TransformerLm model = rlpp::testing::tiny_lm(cfg, seed);
  model->eval();
  return model;
}

// Greedy decoding written out with full (uncached) forwards: the reference for the engine path.
inline std::vector<int64_t> naive_greedy(nn::lm::TransformerLm& model, std::vector<int64_t> seq, int64_t max_new,
                                         int64_t eos) {
  torch::NoGradGuard ng;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < max_new; ++i) {
    const torch::Tensor logits = model->forward(torch::tensor(seq, torch::kLong).view({1, -1}));  // (1, T, V)
    const int64_t next = logits[0][-1].argmax().item<int64_t>();
    out.push_back(next);
    seq.push_back(next);
    if (next == eos) break;
  }
  return out;
}

// Server options of the HTTP tests: any free port, model "tiny", plain chat prompts with BOS, no
// batching wait, at most 64 new tokens.
inline ServerOptions http_test_options() {
  ServerOptions o;
  o.port = 0;
  o.model_name = "tiny";
  o.format.chat = nn::ChatFormat::kPlain;
  o.format.add_bos = true;
  o.scheduler.batch_wait_ms = 0;
  o.limits.max_new_tokens = 64;
  return o;
}

}  // namespace rlpp::serve::testing

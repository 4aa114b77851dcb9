#include "rlpp/train/lm/multi_turn.h"

#include <algorithm>

#include "rlpp/core/error.h"

namespace rlpp::train::lm {

namespace {

// One episode's sequence as it grows.
struct Episode {
  std::vector<int64_t> prompt;
  std::vector<int64_t> response;  // model and environment tokens
  std::vector<uint8_t> generated;  // per response token: 1 = sampled by the model
  std::vector<int64_t> turn;       // per response token: the model turn it belongs to or follows
  std::vector<float> logp, logp_sample, entropy;
  bool done = false, truncated = false;

  void append_env(const std::vector<int64_t>& ids, int64_t turn_index) {
    for (int64_t id : ids) {
      response.push_back(id);
      generated.push_back(0);
      turn.push_back(turn_index);
      logp.push_back(0.F);
      logp_sample.push_back(0.F);
      entropy.push_back(0.F);
    }
  }
  int64_t size() const { return static_cast<int64_t>(prompt.size() + response.size()); }
};

}  // namespace

RolloutBatch multi_turn_rollout(nn::lm::CausalLm& model, const nn::Tokenizer& tokenizer, sample::Generator& generator,
                                std::vector<std::unique_ptr<TurnEnv>>& envs, const std::vector<int64_t>& group_ids,
                                const MultiTurnOptions& opts) {
  core::require(envs.size() == group_ids.size(), "multi-turn rollout: " + std::to_string(group_ids.size()) +
                                                     " group ids for " + std::to_string(envs.size()) + " episodes");
  core::require(generator.options().num_return_sequences == 1,
                "multi-turn rollout: the generator must sample one response per prompt (num_return_sequences = 1)");
  const size_t E = envs.size();
  std::vector<Episode> eps(E);
  for (size_t e = 0; e < E; ++e) {
    if (opts.add_bos && tokenizer.bos_id >= 0) eps[e].prompt.push_back(tokenizer.bos_id);
    const auto ids = tokenizer.encode(envs[e]->opening());
    eps[e].prompt.insert(eps[e].prompt.end(), ids.begin(), ids.end());
    core::require(eps[e].prompt.size() > 0, "multi-turn rollout: episode " + std::to_string(e) + " has an empty opening");
  }
  int64_t pad = tokenizer.pad_id >= 0 ? tokenizer.pad_id : (tokenizer.eos_id >= 0 ? tokenizer.eos_id : 0);
  for (int64_t turn = 0; turn < opts.max_turns; ++turn) {
    std::vector<size_t> active;
    std::vector<std::vector<int64_t>> prefixes;
    for (size_t e = 0; e < E; ++e) {
      if (eps[e].done) continue;
      if (eps[e].size() >= opts.max_total_tokens) {
        eps[e].done = eps[e].truncated = true;
        continue;
      }
      active.push_back(e);
      std::vector<int64_t> p = eps[e].prompt;
      p.insert(p.end(), eps[e].response.begin(), eps[e].response.end());
      prefixes.push_back(std::move(p));
    }
    if (active.empty()) break;
    torch::Tensor temperature;  // (active) fp32, or undefined: the chain's own
    if (opts.temperature >= 0) {
      temperature = torch::full({static_cast<int64_t>(active.size())}, opts.temperature, torch::kFloat32);
    }
    const sample::Generation g = generator.generate(model, prefixes, temperature);
    pad = g.pad_token;
    for (size_t r = 0; r < active.size(); ++r) {
      Episode& ep = eps[active[r]];
      const auto i = static_cast<int64_t>(r);
      const int64_t n = g.lengths[i].item<int64_t>();
      const auto tok = g.tokens[i].slice(0, 0, n).contiguous();
      const auto lp = g.logp[i].slice(0, 0, n).contiguous();
      const auto lq = g.logp_sample[i].slice(0, 0, n).contiguous();
      const auto ent = g.entropy[i].slice(0, 0, n).contiguous();
      std::vector<int64_t> turn_ids(tok.data_ptr<int64_t>(), tok.data_ptr<int64_t>() + n);
      for (int64_t t = 0; t < n; ++t) {
        ep.response.push_back(turn_ids[static_cast<size_t>(t)]);
        ep.generated.push_back(1);
        ep.turn.push_back(turn);
        ep.logp.push_back(lp.data_ptr<float>()[t]);
        ep.logp_sample.push_back(lq.data_ptr<float>()[t]);
        ep.entropy.push_back(ent.data_ptr<float>()[t]);
      }
      if (g.finish_reason[r] == sample::FinishReason::kLength) {  // the turn was cut off
        ep.done = ep.truncated = true;
        continue;
      }
      const TurnEnv::Reply reply = envs[active[r]]->respond(tokenizer.decode(turn_ids, /*skip_special=*/true));
      if (!reply.text.empty()) ep.append_env(tokenizer.encode(reply.text), turn);
      ep.done = reply.done;
    }
  }
  for (auto& ep : eps) {
    if (!ep.done) ep.truncated = true;  // out of turns
  }

  // Assemble: prompts left-padded to Lp, responses right-padded to N.
  const auto B = static_cast<int64_t>(E);
  int64_t Lp = 1, N = 1;
  for (const auto& ep : eps) {
    Lp = std::max<int64_t>(Lp, static_cast<int64_t>(ep.prompt.size()));
    N = std::max<int64_t>(N, static_cast<int64_t>(ep.response.size()));
  }
  RolloutBatch out;
  out.pad_token = pad;
  out.prompt_tokens = torch::full({B, Lp}, pad, torch::kInt64);
  out.prompt_mask = torch::zeros({B, Lp}, torch::kBool);
  out.tokens = torch::full({B, N}, pad, torch::kInt64);
  out.mask = torch::zeros({B, N}, torch::kBool);
  out.attend = torch::zeros({B, N}, torch::kBool);
  out.turn = torch::zeros({B, N}, torch::kInt64);
  out.logp = torch::zeros({B, N});
  out.logp_sample = torch::zeros({B, N});
  out.entropy = torch::zeros({B, N});
  out.lengths = torch::zeros({B}, torch::kInt64);
  out.truncated = torch::zeros({B}, torch::kBool);
  out.reward = torch::zeros({B});
  out.correct = torch::zeros({B});
  out.group_id = torch::tensor(group_ids, torch::kInt64);
  auto pt = out.prompt_tokens.accessor<int64_t, 2>();
  auto pm = out.prompt_mask.accessor<bool, 2>();
  auto tk = out.tokens.accessor<int64_t, 2>();
  auto mk = out.mask.accessor<bool, 2>();
  auto at = out.attend.accessor<bool, 2>();
  auto tn = out.turn.accessor<int64_t, 2>();
  auto lp = out.logp.accessor<float, 2>();
  auto lq = out.logp_sample.accessor<float, 2>();
  auto en = out.entropy.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const Episode& ep = eps[static_cast<size_t>(i)];
    const int64_t off = Lp - static_cast<int64_t>(ep.prompt.size());
    for (size_t j = 0; j < ep.prompt.size(); ++j) {
      pt[i][off + static_cast<int64_t>(j)] = ep.prompt[j];
      pm[i][off + static_cast<int64_t>(j)] = true;
    }
    int64_t model_tokens = 0;
    for (size_t j = 0; j < ep.response.size(); ++j) {
      const auto t = static_cast<int64_t>(j);
      tk[i][t] = ep.response[j];
      at[i][t] = true;
      tn[i][t] = ep.turn[j];
      mk[i][t] = ep.generated[j] != 0;
      lp[i][t] = ep.logp[j];
      lq[i][t] = ep.logp_sample[j];
      en[i][t] = ep.entropy[j];
      model_tokens += ep.generated[j];
    }
    out.lengths[i] = model_tokens;
    out.truncated[i] = ep.truncated;
    out.reward[i] = static_cast<float>(envs[static_cast<size_t>(i)]->reward());
    out.correct[i] = static_cast<float>(envs[static_cast<size_t>(i)]->correct());
  }
  return out;
}

}  // namespace rlpp::train::lm

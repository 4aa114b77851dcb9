#include "rlpp/sample/generator.h"

#include <chrono>

#include "rlpp/algo/build_named.h"
#include "rlpp/core/error.h"

namespace rlpp::sample {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int64_t resolve_pad(const GenerationOptions& opts, const nn::lm::LmConfig& cfg) {
  if (opts.pad_token >= 0) return opts.pad_token;
  if (cfg.pad_token_id >= 0) return cfg.pad_token_id;
  if (cfg.eos_token_id >= 0) return cfg.eos_token_id;
  return 0;
}

void check_token(int64_t id, int64_t vocab, const std::string& what) {
  core::require(id >= 0 && id < vocab, "generate: " + what + " = " + std::to_string(id) +
                                           " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

void check_logits(const torch::Tensor& logits, int64_t b, int64_t t, int64_t v) {
  if (logits.dim() != 3 || logits.size(0) != b || logits.size(1) != t || logits.size(2) != v) {
    throw std::logic_error("generate: the model returned logits of shape " + std::string(c10::str(logits.sizes())) +
                           ", expected (" + std::to_string(b) + ", " + std::to_string(t) + ", " +
                           std::to_string(v) + ")");
  }
}

}  // namespace

const char* to_string(FinishReason r) { return r == FinishReason::kStop ? "stop" : "length"; }

Generator::Generator(SamplerChain chain, GenerationOptions opts)
    : chain_(std::move(chain)), opts_(std::move(opts)), seed_(static_cast<uint64_t>(opts_.seed)) {
  core::require(opts_.max_new_tokens >= 1, "generate: max_new_tokens must be >= 1, got " +
                                               std::to_string(opts_.max_new_tokens));
  core::require(opts_.num_return_sequences >= 1, "generate: num_return_sequences must be >= 1, got " +
                                                     std::to_string(opts_.num_return_sequences));
}

void Generator::reseed(uint64_t seed) {
  seed_ = seed;
  rng_.reset();
}

Generation Generator::generate(nn::lm::CausalLm& model, const std::vector<std::vector<int64_t>>& prompts,
                               const torch::Tensor& temperature) {
  torch::NoGradGuard no_grad;
  const auto t_start = Clock::now();
  const nn::lm::LmConfig& cfg = model.lm_config();
  const torch::Device device = model.lm_device();
  const int64_t vocab = cfg.vocab_size;
  const int64_t n_prompts = static_cast<int64_t>(prompts.size());
  const int64_t group = opts_.num_return_sequences;
  const int64_t batch = n_prompts * group;
  const int64_t max_new = opts_.max_new_tokens;
  core::require(n_prompts > 0, "generate: no prompts");

  // ---- inputs: validated, repeated G times, left-padded --------------------------------------
  const int64_t pad = resolve_pad(opts_, cfg);
  check_token(pad, vocab, "pad_token");
  std::vector<int64_t> stops = opts_.stop_tokens;
  if (opts_.stop_at_eos && cfg.eos_token_id >= 0) stops.push_back(cfg.eos_token_id);
  for (int64_t s : stops) check_token(s, vocab, "stop token");
  int64_t prompt_len = 0;
  for (int64_t i = 0; i < n_prompts; ++i) {
    const auto& p = prompts[i];
    core::require(!p.empty(), "generate: prompt " + std::to_string(i) + " is empty");
    for (size_t j = 0; j < p.size(); ++j) {
      check_token(p[j], vocab, "prompt " + std::to_string(i) + " token " + std::to_string(j));
    }
    prompt_len = std::max<int64_t>(prompt_len, static_cast<int64_t>(p.size()));
  }
  torch::Tensor prompt_tokens = torch::full({batch, prompt_len}, pad, torch::kLong);  // (B, L_p)
  torch::Tensor prompt_mask = torch::zeros({batch, prompt_len}, torch::kBool);        // (B, L_p)
  {
    auto tok = prompt_tokens.accessor<int64_t, 2>();
    auto val = prompt_mask.accessor<bool, 2>();
    for (int64_t i = 0; i < n_prompts; ++i) {
      const int64_t len = static_cast<int64_t>(prompts[i].size()), off = prompt_len - len;
      for (int64_t g = 0; g < group; ++g) {
        for (int64_t j = 0; j < len; ++j) {
          tok[i * group + g][off + j] = prompts[i][j];
          val[i * group + g][off + j] = true;
        }
      }
    }
  }
  prompt_tokens = prompt_tokens.to(device);
  prompt_mask = prompt_mask.to(device);
  // RoPE positions count real tokens only, so a left-padded row sees the positions it would see
  // alone; pads get 0 (never attended to).
  const torch::Tensor positions = (prompt_mask.cumsum(/*dim=*/1) - 1).clamp_min(0);  // (B, L_p)

  SampleContext ctx;
  if (temperature.defined()) {
    core::require(temperature.dim() == 1 && temperature.size(0) == n_prompts,
                  "generate: temperature must have one entry per prompt (" + std::to_string(n_prompts) + ")");
    ctx.temperature = temperature.to(device, torch::kFloat).repeat_interleave(group);  // (B)
  }
  if (stats_) ctx.entropy_stats = &*stats_;
  if (!rng_ || rng_->device() != device) rng_ = make_generator(device, seed_);

  // ---- the cache: one allocation for L_p + max_new_tokens slots, reused by equal shapes --------
  const int64_t max_len = prompt_len + max_new;
  if (!cache_.key_valid.defined() || cache_.batch() != batch || cache_.max_len != max_len ||
      cache_.key_valid.device() != device) {
    cache_ = nn::lm::KvCache(cfg, batch, max_len, torch::TensorOptions().device(device).dtype(cache_dtype_));
  } else {
    cache_.reset();
  }

  Generation out;
  out.pad_token = pad;
  out.prompt_tokens = prompt_tokens;
  out.prompt_mask = prompt_mask;
  out.group_id = torch::arange(n_prompts, torch::TensorOptions().dtype(torch::kLong).device(device))
                     .repeat_interleave(group);
  out.prompt_tokens_total = prompt_mask.sum().item<int64_t>();

  // ---- prefill ----------------------------------------------------------------------------------
  torch::Tensor logits = model.forward_cached(prompt_tokens, positions, prompt_mask, cache_);  // (B, L_p, V)
  check_logits(logits, batch, prompt_len, vocab);
  torch::Tensor next = logits.select(/*dim=*/1, prompt_len - 1);  // (B, V): left padding puts a real token last
  out.forward_calls = 1;
  out.prefill_seconds = seconds_since(t_start);

  // ---- decode: fixed-shape buffers, one column per step ----------------------------------------
  const auto lopts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto fopts = torch::TensorOptions().dtype(torch::kFloat).device(device);
  torch::Tensor tokens = torch::full({batch, max_new}, pad, lopts);                         // (B, N_max)
  torch::Tensor mask = torch::zeros({batch, max_new}, lopts.dtype(torch::kBool));           // (B, N_max)
  torch::Tensor logp = torch::zeros({batch, max_new}, fopts);                               // (B, N_max)
  torch::Tensor logp_sample = torch::zeros({batch, max_new}, fopts);                        // (B, N_max)
  torch::Tensor entropy = torch::zeros({batch, max_new}, fopts);                            // (B, N_max)
  torch::Tensor finished = torch::zeros({batch}, lopts.dtype(torch::kBool));                // (B)
  torch::Tensor stopped = torch::zeros({batch}, lopts.dtype(torch::kBool));                 // (B)
  torch::Tensor next_pos = prompt_mask.sum(/*dim=*/1);                                      // (B) int64
  const torch::Tensor stop_ids = torch::tensor(stops, torch::kLong).to(device);             // (S)
  const torch::Tensor pad_col = torch::full({batch}, pad, lopts);                           // (B)
  const torch::Tensor zero_col = torch::zeros({batch}, fopts);                              // (B)

  int64_t steps = 0;
  for (int64_t t = 0; t < max_new; ++t) {
    const SampleResult r = chain_.sample(next, *rng_, ctx);
    const torch::Tensor live = finished.logical_not();           // (B): rows still generating
    const torch::Tensor tok = torch::where(live, r.tokens, pad_col);  // (B)
    tokens.select(1, t).copy_(tok);
    mask.select(1, t).copy_(live);
    logp.select(1, t).copy_(torch::where(live, r.logp, zero_col));
    logp_sample.select(1, t).copy_(torch::where(live, r.logp_sample, zero_col));
    entropy.select(1, t).copy_(torch::where(live, r.entropy, zero_col));
    if (stop_ids.numel() > 0) {
      const torch::Tensor hit = live.logical_and(torch::isin(tok, stop_ids));  // (B)
      stopped.logical_or_(hit);
      finished.logical_or_(hit);
    }
    steps = t + 1;
    if (steps == max_new || finished.all().item<bool>()) break;  // the one host sync per step
    if (hook_.every > 0 && steps % hook_.every == 0 && hook_.at && hook_.at(steps / hook_.every)) {
      // New weights (partial rollouts): the cache holds keys and values of the old ones. Re-encode
      // the prefix, prompt + tokens 0 … t − 1, in one forward from an empty cache; a live row's last
      // real token is the last column. Finished rows are re-encoded too (their output is unused).
      const torch::Tensor seq = torch::cat({prompt_tokens, tokens.narrow(1, 0, steps)}, 1);  // (B, L_p + t)
      const torch::Tensor val = torch::cat({prompt_mask, mask.narrow(1, 0, steps)}, 1);      // (B, L_p + t)
      cache_.reset();
      logits = model.forward_cached(seq, (val.cumsum(/*dim=*/1) - 1).clamp_min(0), val, cache_);  // (B, L_p + t, V)
      check_logits(logits, batch, prompt_len + steps, vocab);
      next = logits.select(/*dim=*/1, prompt_len + steps - 1);
      next_pos.copy_(val.sum(/*dim=*/1));
      ++out.forward_calls;
      ++out.reencodes;
      continue;
    }
    // Decode step (the part a CUDA build would capture in a graph: fixed shapes (B, 1), persistent
    // cache). Finished rows feed the pad, marked invalid, and do not advance their position.
    const torch::Tensor valid = finished.logical_not();  // (B)
    logits = model.forward_cached(torch::where(valid, tok, pad_col).unsqueeze(1), next_pos.unsqueeze(1),
                                  valid.unsqueeze(1), cache_);  // (B, 1, V)
    check_logits(logits, batch, 1, vocab);
    next = logits.select(/*dim=*/1, 0);
    next_pos.add_(valid.to(torch::kLong));
    ++out.forward_calls;
  }

  out.tokens = tokens.narrow(1, 0, steps).contiguous();
  out.mask = mask.narrow(1, 0, steps).contiguous();
  out.logp = logp.narrow(1, 0, steps).contiguous();
  out.logp_sample = logp_sample.narrow(1, 0, steps).contiguous();
  out.entropy = entropy.narrow(1, 0, steps).contiguous();
  out.lengths = out.mask.sum(/*dim=*/1);
  out.tokens_generated = out.lengths.sum().item<int64_t>();
  const torch::Tensor stopped_cpu = stopped.cpu();
  out.finish_reason.reserve(batch);
  for (int64_t b = 0; b < batch; ++b) {
    out.finish_reason.push_back(stopped_cpu[b].item<bool>() ? FinishReason::kStop : FinishReason::kLength);
  }
  out.seconds = seconds_since(t_start);
  return out;
}

namespace {

// The earlier spelling of the chain (a `samplers` name list in [section], the samplers' options flat
// beside it) is refused with the one that replaced it.
void refuse_flat_samplers(const core::Recipe& recipe, const std::string& section, const std::string& list) {
  const toml::table* sec = recipe.table()[section].as_table();
  if (!sec) return;
  const std::string hint = "; write each sampler as its own table, in the order they apply: [[" + list +
                           "]] name = \"top_p\" with top_p = 0.9 in that table (rlpp list samplers)";
  const std::string names_key = section + ".samplers";
  core::require(!sec->contains("samplers"),
                recipe.origin(names_key) + ": " + names_key + " is now spelled as an array of tables" + hint);
  for (const auto& name : sampler_registry().names()) {
    for (const auto& opt : core::describe_component(sampler_registry(), name)) {
      const std::string dotted = section + "." + opt.key;
      core::require(!sec->contains(opt.key), recipe.origin(dotted) + ": " + dotted + " is an option of sampler '" +
                                                 name + "', which now sits in that sampler's [[" + list + "]] table" +
                                                 hint);
    }
  }
}

}  // namespace

SamplingRecipe read_sampling(const core::Recipe& recipe, const std::string& section, toml::table* resolved,
                             const std::string& list) {
  refuse_flat_samplers(recipe, section, list);
  SamplingRecipe out;
  core::Binder b = core::Binder::reader(recipe, section, resolved);
  out.generation.bind(b);
  b.finish();
  recipe.mark_used(section);
  // No [[list]]: the policy itself, one temperature sampler at its default T = 1.
  const core::Recipe fallback = core::Recipe::parse("[[" + list + "]]\nname = \"temperature\"\n", "the default chain");
  const core::Recipe& source = recipe.has_section(list) ? recipe : fallback;
  recipe.mark_used(list);
  for (auto& [name, sampler] : algo::build_list(sampler_registry(), source, list, resolved)) {
    out.samplers.push_back(name);
    out.chain.add(name, std::shared_ptr<const Sampler>(std::move(sampler)));
  }
  return out;
}

}  // namespace rlpp::sample

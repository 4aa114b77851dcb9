#include "rlpp/train/lm/policy_update.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "rlpp/algo/objectives/lp_reg.h"
#include "rlpp/core/error.h"
#include "rlpp/train/metric_names.h"

namespace rlpp::train::lm {

void PolicyUpdateOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("ppo_epochs", ppo_epochs, "passes over each batch", Bounds::closed(1, 1000));
  b.integer("mini_batches", mini_batches, "optimizer steps per epoch", Bounds::closed(1, 1 << 20));
  b.integer("micro_batch_size", micro_batch_size, "rows per forward/backward (0 = a whole mini-batch)",
            Bounds::closed(0, 1 << 20));
  b.choice("aggregation", aggregation, algo::aggregation_registry().names(), "loss aggregation (rlpp list aggregations)");
  b.num("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  b.num("entropy_coef", entropy_coef, "entropy bonus coefficient", Bounds::non_negative());
  b.integer("lr_warmup_steps", lr_warmup_steps,
            "optimizer steps of linear learning-rate warm-up, lr*(k+1)/W at step k (0 = none)", Bounds::closed(0, 1 << 30));
  b.integer("logprob_chunk", logprob_chunk, "sequence positions per lm_head/log-softmax chunk", Bounds::closed(1, 1 << 20));
}

void refuse_moved_keys(const core::Recipe& recipe, const std::string& section) {
  const std::pair<const char*, const char*> moved[] = {
      {"kl_coef", "[kl] name = \"fixed\" (or \"adaptive\") with coef = ..."},
      {"kl_estimator", "[kl] estimator = ..."},
      {"entropy_control", "[entropy_control] name = ... with the control's options beside the name"},
  };
  for (const auto& [key, now] : moved) {
    const std::string dotted = section + "." + key;
    core::require(!recipe.table().at_path(dotted), recipe.origin(dotted) + ": " + dotted + " is now spelled " + now);
  }
}

namespace {

// Token-weighted running means of the objective's metrics over the micro-batches of an update.
struct MetricMeans {
  std::map<std::string, double> sum;
  double weight = 0;
  void add(const std::map<std::string, torch::Tensor>& m, double w) {
    for (const auto& [k, v] : m) sum[k] += v.item<double>() * w;
    weight += w;
  }
  double get(const std::string& k) const {
    auto it = sum.find(k);
    return it == sum.end() || weight <= 0 ? std::nan("") : it->second / weight;
  }
  // Sums and weight over the ranks. A rank without rows has not seen the keys; every rank with rows
  // has the same ones (one objective, one entropy control): the first such rank sends them.
  void reduce(dist::Comm* comm) {
    if (comm == nullptr) return;
    std::vector<double> has(static_cast<size_t>(comm->size()), 0.0);
    has[static_cast<size_t>(comm->rank())] = sum.empty() ? 0.0 : 1.0;
    comm->allreduce_sum(has.data(), static_cast<int64_t>(has.size()));
    const auto source = std::find(has.begin(), has.end(), 1.0) - has.begin();
    if (source == static_cast<std::ptrdiff_t>(has.size())) return;  // no rank had rows
    std::string keys;
    for (const auto& [k, v] : sum) keys += k + "\n";
    comm->broadcast_bytes(keys, static_cast<int>(source));
    std::vector<std::string> names;
    size_t p = 0;
    for (size_t q; (q = keys.find('\n', p)) != std::string::npos; p = q + 1) names.push_back(keys.substr(p, q - p));
    std::vector<double> v;
    for (const std::string& k : names) v.push_back(sum.count(k) ? sum[k] : 0.0);
    v.push_back(weight);
    comm->allreduce_sum(v.data(), static_cast<int64_t>(v.size()));
    for (size_t i = 0; i < names.size(); ++i) sum[names[i]] = v[i];
    weight = v.back();
  }
};

}  // namespace

algo::AggregationCounts global_counts(dist::Comm* comm, algo::AggregationCounts c) {
  if (comm == nullptr) return c;
  double v[2] = {c.num_tokens, c.num_seqs};
  comm->allreduce_sum(v, 2);
  return {v[0], v[1], static_cast<double>(dist::max_over_ranks(comm, static_cast<int64_t>(c.max_len)))};
}

namespace {

// The objective's input for rows `rows` of the batch, log-probs `lp` computed on those rows.
algo::PolicyLossInput loss_input(const UpdateBatch& b, const torch::Tensor& rows, const nn::lm::TokenLogProbs& lp,
                                 const torch::Tensor& logp_proxy) {
  const int64_t Lp = b.response_start;
  algo::PolicyLossInput in;
  in.logp = lp.logp.slice(1, Lp);
  in.logp_old = b.logp_old.index_select(0, rows);  // logp_proximal (the ratio's anchor), not the behaviour q
  in.advantages = b.advantages.index_select(0, rows);
  in.mask = b.mask.index_select(0, rows);
  in.entropy = lp.entropy.slice(1, Lp).detach();
  if (logp_proxy.defined()) in.logp_proxy = logp_proxy.index_select(0, rows);
  return in;
}

}  // namespace

PolicyUpdate::PolicyUpdate(const PolicyUpdateOptions& opts, std::unique_ptr<algo::PolicyObjective> objective,
                           nn::lm::TransformerLm model, torch::optim::Optimizer& optimizer, const core::Recipe& recipe,
                           toml::table* resolved)
    : opts_(opts), objective_(std::move(objective)), model_(std::move(model)), optimizer_(optimizer) {
  aggregation_ = algo::aggregation_from_name(opts_.aggregation);
  base_lr_ = optimizer_.param_groups().front().options().get_lr();
  entropy_control_ = build_entropy_control(recipe, resolved);
  if (recipe.has_section("kl")) {
    // The estimator is the update's, beside the controller's options.
    const std::string name = recipe.get_string("kl", "name", "fixed");
    kl_ = algo::build_component(algo::kl_controller_registry(), name, recipe, "kl", {"name", "estimator"}, resolved);
    std::string estimator = "k3";
    core::Binder b = core::Binder::reader(recipe, "kl", resolved);
    b.choice("estimator", estimator, algo::kl_registry().names(), "KL estimator (rlpp list kl)");
    kl_fn_ = algo::kl_registry().get(estimator);
  }
  if (kl_) {
    // A frozen copy of the initial policy.
    reference_ = nn::lm::TransformerLm(model_->config());
    reference_->set_fast_path(model_->fast_path());  // [model] fast_path: not part of the config
    torch::NoGradGuard no_grad;
    auto src = model_->named_parameters();
    for (auto& p : reference_->named_parameters()) p.value().copy_(src[p.key()]);
    reference_->eval();
  }
}

core::MetricRow PolicyUpdate::run(const UpdateBatch& b, core::Rng& rng, double progress) {
  const int64_t B = b.tokens.size(0), Lp = b.response_start;
  const torch::Tensor& mask = b.mask;
  torch::Tensor logp_ref;  // (B, N)
  const double kl_coef_start = kl_ ? kl_->coef() : 0.0;
  const torch::Tensor no_rows = mask.slice(0, 0, 0);  // (0, N): a data-parallel rank may have no rows
  if (reference_) {
    torch::NoGradGuard no_grad;
    logp_ref = B == 0 ? no_rows
                      : nn::lm::token_logprobs(reference_, b.tokens, b.attention, opts_.logprob_chunk).logp.slice(1, Lp);
  }
  const double kappa = objective_->proxy_min_p();
  const torch::Tensor logp_proxy = kappa > 0 ? (B == 0 ? no_rows : proxy_logp(b, kappa)) : torch::Tensor();

  MetricMeans means, control_means;
  double grad_norm = 0, kl_sum = 0, loss_sum = 0;
  double kl_step_sum = 0, kl_step_tokens = 0;  // this optimizer step's KL, for the controller
  double lr = learning_rate(optimizer_steps_);
  int64_t optimizer_steps = 0;
  // Mini-batches: `mini_batches` near-equal parts of a shuffled order (B varies with dynamic
  // sampling and Knapsack budgets). Data-parallel: of each rank's rows, M from the global count.
  dist::Comm* comm = comm_;
  const int64_t M = std::min(opts_.mini_batches, dist::row_split(comm, B).total);
  // prepare() runs on the global mini-batch: gathered from every rank when data-parallel.
  const bool global_prepare = comm != nullptr && objective_->has_batch_statistics();
  std::vector<int64_t> order(static_cast<size_t>(B));
  const int64_t X = b.extra.rows();
  std::vector<int64_t> extra_order(static_cast<size_t>(X));
  std::map<std::string, double> extra_sums;
  double extra_weight = 0;
  for (int64_t e = 0; e < opts_.ppo_epochs; ++e) {
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(order.data(), B);
    std::iota(extra_order.begin(), extra_order.end(), 0);
    if (X > 0) rng.shuffle(extra_order.data(), X);
    for (int64_t m = 0; m < M; ++m) {
      const int64_t lo = m * B / M, hi = (m + 1) * B / M, mb = hi - lo;
      const int64_t micro = opts_.micro_batch_size > 0 ? std::min(opts_.micro_batch_size, mb) : mb;
      // In batch order within the mini-batch: data-parallel ranks then concatenate to the global order.
      const torch::Tensor idx = std::get<0>(torch::from_blob(order.data() + lo, {mb}, torch::kInt64).sort());
      const torch::Tensor mb_mask = mask.index_select(0, idx);
      const algo::AggregationCounts counts = global_counts(comm, algo::aggregation_counts(mb_mask));
      if (counts.num_tokens == 0) continue;  // every token of these rows was selected out
      const dist::RowSplit mb_split = dist::row_split(comm, mb);
      const bool prepared = global_prepare || (comm == nullptr && micro < mb);
      if (prepared) prepare(b, idx, logp_proxy, &mb_split);
      optimizer_.zero_grad();
      kl_step_sum = kl_step_tokens = 0;
      for (int64_t r0 = 0; r0 < mb; r0 += micro) {
        const torch::Tensor rows = idx.slice(0, r0, std::min(mb, r0 + micro));
        const auto lp = nn::lm::token_logprobs(model_, b.tokens.index_select(0, rows), b.attention.index_select(0, rows),
                                              opts_.logprob_chunk);
        algo::PolicyLossInput in = loss_input(b, rows, lp, logp_proxy);
        if (prepared) {
          in.rows = torch::arange(mb_split.offset + r0, mb_split.offset + r0 + rows.size(0), torch::kInt64);
        } else if (comm == nullptr) {
          objective_->prepare(in);  // the micro-batch is the mini-batch: its own statistics
        }
        const algo::ObjectiveOutput out = objective_->compute(in);
        torch::Tensor token_loss = out.token_loss;
        if (b.weight.defined()) token_loss = token_loss * b.weight.index_select(0, rows);  // truncated IS, ...
        if (reference_) {
          const torch::Tensor kl = kl_fn_(in.logp, logp_ref.index_select(0, rows)) * in.mask;
          token_loss = token_loss + kl_->coef() * kl;
          const double s = kl.sum().item<double>();
          kl_sum += s;
          kl_step_sum += s;
          kl_step_tokens += in.mask.sum().item<double>();
        }
        if (opts_.entropy_coef > 0) token_loss = token_loss - opts_.entropy_coef * lp.entropy.slice(1, Lp) * in.mask;
        if (entropy_control_) {
          std::map<std::string, torch::Tensor> m;
          token_loss = token_loss + entropy_control_->token_loss(
                                        {lp.entropy.slice(1, Lp), b.turn.index_select(0, rows), in.mask, progress}, &m);
          control_means.add(m, in.mask.sum().item<double>());
        }
        const torch::Tensor loss = algo::aggregate_loss(token_loss, in.mask, aggregation_, counts);
        loss.backward();
        loss_sum += loss.item<double>();
        means.add(out.metrics, in.mask.sum().item<double>());
      }
      // This mini-batch's share of the extra rollouts (data-parallel: every rank takes part, with or without rows).
      if (X > 0 || (comm && wants_extra_rollouts())) {
        const int64_t x0 = m * X / M, x1 = (m + 1) * X / M;
        if (x1 > x0 || comm) {
          const torch::Tensor rows = torch::from_blob(extra_order.data() + x0, {x1 - x0}, torch::kInt64).clone();
          extra_backward(b.extra, rows, &extra_sums, &extra_weight);
        }
      }
      if (comm) {
        dist::sum_gradients(*comm, model_->parameters());
        double k[2] = {kl_step_sum, kl_step_tokens};
        if (kl_) comm->allreduce_sum(k, 2);
        kl_step_sum = k[0];
        kl_step_tokens = k[1];
      }
      grad_norm += torch::nn::utils::clip_grad_norm_(model_->parameters(), opts_.max_grad_norm);
      lr = learning_rate(optimizer_steps_);
      for (auto& g : optimizer_.param_groups()) g.options().set_lr(lr);
      optimizer_.step();
      ++optimizer_steps_;
      ++optimizer_steps;
      if (kl_ && kl_step_tokens > 0) kl_->update(kl_step_sum / kl_step_tokens, mb_split.total);
    }
  }
  core::MetricRow row;
  if (comm && wants_extra_rollouts()) {  // over every rank's extra rollouts
    MetricMeans extra{extra_sums, extra_weight};
    extra.reduce(comm);
    extra_sums = extra.sum;
    extra_weight = extra.weight;
  }
  for (const auto& [k, v] : extra_sums) row.emplace_back(k, extra_weight > 0 ? v / extra_weight : std::nan(""));
  double selected = mask.sum().item<double>();
  if (comm) {  // global metrics
    means.reduce(comm);
    control_means.reduce(comm);
    double v[3] = {loss_sum, kl_sum, selected};
    comm->allreduce_sum(v, 3);
    loss_sum = v[0];
    kl_sum = v[1];
    selected = v[2];
  }
  if (entropy_control_) {
    for (const auto& [k, v] : control_means.sum) row.emplace_back(k, control_means.get(k));
    if (comm) {  // the history grows by the global batch's entropies
      const dist::RowSplit split = dist::row_split(comm, B);
      entropy_control_->observe(dist::gather_rows(comm, split, b.sampled_entropy), dist::gather_rows(comm, split, b.turn),
                                dist::gather_rows(comm, split, b.valid), b.fresh);
    } else {
      entropy_control_->observe(b.sampled_entropy, b.turn, b.valid, b.fresh);
    }
  }
  const double steps = static_cast<double>(std::max<int64_t>(optimizer_steps, 1));
  row.insert(row.end(), {
      {"rl/skipped_update", optimizer_steps == 0 ? 1.0 : 0.0},
      {metric::kPolicyLoss, loss_sum / steps},
      {metric::kKl, reference_ ? kl_sum / std::max(selected * static_cast<double>(opts_.ppo_epochs), 1.0) : 0.0},
      {metric::kClipFrac, means.get(algo::metric::kClipFrac)},
      {metric::kClipFracLow, means.get(algo::metric::kClipFracLow)},
      {metric::kClipFracHigh, means.get(algo::metric::kClipFracHigh)},
      {metric::kApproxKl, means.get(algo::metric::kApproxKl)},
      {metric::kGradNorm, grad_norm / steps},
      {metric::kLearningRate, lr},
  });
  if (kl_) row.emplace_back(metric::kKlCoef, kl_coef_start);
  return row;
}

double PolicyUpdate::extra_backward(const ExtraRollouts& x, const torch::Tensor& rows,
                                    std::map<std::string, double>* sums, double* weight) {
  const int64_t Ls = x.response_start;
  const bool mine = rows.size(0) > 0;  // data-parallel: a rank may have no rows in this share
  const torch::Tensor mask = mine ? x.mask.index_select(0, rows) : torch::Tensor();  // (k, N)
  // The counts of this share over every rank (each rank's loss is its part of the share's loss).
  const algo::AggregationCounts counts = global_counts(comm_, mine ? algo::aggregation_counts(mask) : algo::AggregationCounts{});
  const double n = mine ? mask.sum().item<double>() : 0.0;
  if (n == 0) return 0.0;
  const auto lp = nn::lm::token_logprobs(model_, x.tokens.index_select(0, rows), x.attention.index_select(0, rows),
                                        opts_.logprob_chunk);
  std::map<std::string, torch::Tensor> m;
  const torch::Tensor token_loss =
      entropy_control_->extra_rollout_loss(lp.logp.slice(1, Ls), mask, x.advantages.index_select(0, rows), x.mean_entropy, &m);
  const torch::Tensor loss = algo::aggregate_loss(token_loss, mask, aggregation_, counts);
  loss.backward();
  const double rows_k = static_cast<double>(rows.size(0));
  for (const auto& [k, v] : m) (*sums)[k] += v.item<double>() * rows_k;
  (*sums)[metric::kExtraRolloutLoss] += loss.item<double>() * rows_k;
  *weight += rows_k;
  return loss.item<double>();
}

double PolicyUpdate::learning_rate(int64_t step) const {
  const int64_t w = opts_.lr_warmup_steps;
  return step < w ? base_lr_ * static_cast<double>(step + 1) / static_cast<double>(w) : base_lr_;
}

void PolicyUpdate::prepare(const UpdateBatch& b, const torch::Tensor& idx, const torch::Tensor& logp_proxy,
                           const dist::RowSplit* split) {
  torch::NoGradGuard no_grad;
  algo::PolicyLossInput in;
  if (idx.size(0) > 0) {
    const auto lp = nn::lm::token_logprobs(model_, b.tokens.index_select(0, idx), b.attention.index_select(0, idx),
                                          opts_.logprob_chunk);
    in = loss_input(b, idx, lp, logp_proxy);
  } else {  // a rank without rows in this mini-batch: (0, N) fields
    const torch::Tensor empty = b.mask.slice(0, 0, 0);
    in.logp = in.logp_old = in.advantages = in.mask = in.entropy = empty;
    if (logp_proxy.defined()) in.logp_proxy = empty;
  }
  if (comm_) {
    for (torch::Tensor* t : {&in.logp, &in.logp_old, &in.advantages, &in.mask, &in.entropy, &in.logp_proxy}) {
      if (t->defined()) *t = dist::gather_rows(comm_, *split, t->contiguous());
    }
  }
  objective_->prepare(in);
}

// Position Lp − 1 + j predicts trained token j; logits a chunk of positions at a time.
torch::Tensor PolicyUpdate::proxy_logp(const UpdateBatch& b, double kappa) {
  torch::NoGradGuard no_grad;
  const int64_t Lp = b.response_start;
  const torch::Tensor response = b.tokens.slice(1, Lp);                    // (B, N)
  const torch::Tensor hidden = model_->hidden_states(b.tokens, b.attention);  // (B, S, H)
  const int64_t N = response.size(1);
  torch::Tensor out = torch::full({response.size(0), N}, -std::numeric_limits<float>::infinity(), torch::kFloat32);
  // Position 0 has no predecessor: with Lp = 0 the first token is never predicted (the mask of a
  // trained token there must be 0).
  const int64_t first = Lp == 0 ? 1 : 0;
  for (int64_t c0 = first; c0 < N; c0 += opts_.logprob_chunk) {
    const int64_t c1 = std::min(N, c0 + opts_.logprob_chunk);
    const torch::Tensor logits = model_->logits(hidden.slice(1, Lp - 1 + c0, Lp - 1 + c1));  // (B, c, V)
    out.slice(1, c0, c1).copy_(algo::min_p_proxy_logp(logits, response.slice(1, c0, c1), kappa));
  }
  return out;
}

void PolicyUpdate::save(CheckpointWriter& w) const {
  w.put_int("rl/optimizer_steps", optimizer_steps_);
  if (kl_) w.put_doubles("rl/kl_coef", {kl_->coef()});
  if (reference_) reference_->save(w.child("reference"));
  if (entropy_control_) entropy_control_->save(w);
}

void PolicyUpdate::load(CheckpointReader& r) {
  optimizer_steps_ = r.get_int("rl/optimizer_steps");
  if (kl_) kl_->set_coef(r.get_doubles("rl/kl_coef", 1)[0]);
  if (reference_) reference_->load(r.child("reference"));
  if (entropy_control_) entropy_control_->load(r);
}

}  // namespace rlpp::train::lm

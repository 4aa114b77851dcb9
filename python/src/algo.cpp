// rlpp.algo: every registered advantage estimator, policy objective, aggregation, KL estimator,
// selector and sampler, built by name with its options as keyword arguments (checked by the
// component's own Binder, as a recipe section would be) and called on torch tensors. The tensors
// are the caller's (no copies); autograd flows through the objectives, aggregations and KL
// estimators into whatever produced `logp`.
#include <optional>

#include "bindings.h"
#include "rlpp/algo/advantage.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/allocation.h"
#include "rlpp/algo/kl.h"
#include "rlpp/algo/objective.h"
#include "rlpp/algo/selector.h"
#include "rlpp/core/component.h"
#include "rlpp/core/error.h"
#include "rlpp/sample/sampler.h"
#include "rlpp/train/catalog.h"
#include "rlpp/train/lm/entropy_control.h"

namespace rlpp::python {

namespace {

using OptTensor = std::optional<torch::Tensor>;

torch::Tensor or_empty(const OptTensor& t) { return t ? *t : torch::Tensor(); }
py::object or_none(const torch::Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

py::dict metrics_dict(const std::map<std::string, torch::Tensor>& metrics) {
  py::dict d;
  for (const auto& [k, v] : metrics) d[py::str(k)] = v;
  return d;
}

std::string call_name(const std::string& kind, const std::string& name) {
  return "rlpp.algo." + kind + "('" + name + "')";
}

// Component `name` of `registry` with `options` (keyword arguments) as its section.
template <class Base>
std::unique_ptr<Base> build(const core::Registry<core::Factory<Base>>& registry, const std::string& kind,
                            const std::string& name, const py::dict& options) {
  const std::string source = call_name(kind, name);
  if (!registry.contains(name)) {
    try {
      registry.get(name);
    } catch (const core::UserError& e) {
      throw core::UserError(source + ": " + e.what());
    }
  }
  const core::Recipe r = options_recipe(kind, options, source);
  return core::build_component(registry, name, r, kind, {});
}

algo::PolicyLossInput loss_input(const torch::Tensor& logp, const OptTensor& logp_old, const torch::Tensor& advantages,
                                 const OptTensor& mask, const OptTensor& entropy, const OptTensor& logp_proxy) {
  algo::PolicyLossInput in;
  in.logp = logp;
  in.logp_old = or_empty(logp_old);
  in.advantages = advantages;
  in.mask = or_empty(mask);
  in.entropy = or_empty(entropy);
  in.logp_proxy = or_empty(logp_proxy);
  return in;
}

struct Objective {
  std::string name;
  std::unique_ptr<algo::PolicyObjective> impl;

  // prepare (the batch is the global batch) + compute: (token_loss, metrics).
  py::tuple call(const torch::Tensor& logp, const OptTensor& logp_old, const torch::Tensor& advantages,
                 const OptTensor& mask, const OptTensor& entropy, const OptTensor& logp_proxy) {
    const algo::PolicyLossInput in = loss_input(logp, logp_old, advantages, mask, entropy, logp_proxy);
    impl->prepare(in);
    algo::ObjectiveOutput out = impl->compute(in);
    return py::make_tuple(out.token_loss, metrics_dict(out.metrics));
  }

  // The same, aggregated: (loss 0-dim, metrics).
  py::tuple loss(const torch::Tensor& logp, const OptTensor& logp_old, const torch::Tensor& advantages,
                 const OptTensor& mask, const OptTensor& entropy, const OptTensor& logp_proxy,
                 const std::string& aggregation) {
    const algo::Aggregation mode = algo::aggregation_from_name(aggregation);
    const algo::PolicyLossInput in = loss_input(logp, logp_old, advantages, mask, entropy, logp_proxy);
    impl->prepare(in);
    algo::ObjectiveOutput out = impl->compute(in);
    return py::make_tuple(algo::aggregate_loss(out.token_loss, in.mask, mode), metrics_dict(out.metrics));
  }
};

struct Advantage {
  std::string name;
  std::unique_ptr<algo::AdvantageEstimator> impl;
};

struct SelectorObj {
  std::string name;
  std::unique_ptr<algo::Selector> impl;
};

struct SamplerObj {
  std::string name;
  std::unique_ptr<sample::Sampler> impl;
};

// The options of `name` in `kind` (rlpp list --markdown's rows) as dicts.
template <class Base>
py::list describe(const core::Registry<core::Factory<Base>>& registry, const std::string& name) {
  py::list out;
  for (const auto& o : core::describe_component(registry, name)) {
    py::dict d;
    d["key"] = o.key;
    d["type"] = o.type;
    d["default"] = o.default_value;
    d["help"] = o.help;
    out.append(d);
  }
  return out;
}

}  // namespace

void bind_algo(py::module_& m) {
  m.def(
      "list",
      [] {
        py::dict d;
        for (const auto& [kind, rows] : train::catalog()) d[py::str(kind)] = rows;
        return d;
      },
      "every registry by kind: {kind: [(name, summary), ...]}, as `rlpp list` prints it");
  m.def(
      "options",
      [](const std::string& kind, const std::string& name) -> py::list {
        if (kind == "advantages") return describe(algo::advantage_registry(), name);
        if (kind == "objectives") return describe(algo::objective_registry(), name);
        if (kind == "selectors") return describe(algo::selector_registry(), name);
        if (kind == "samplers") return describe(sample::sampler_registry(), name);
        if (kind == "kl_controllers") return describe(algo::kl_controller_registry(), name);
        if (kind == "entropy_controls") return describe(train::lm::entropy_control_registry(), name);
        if (kind == "allocations") return describe(algo::allocation_registry(), name);
        throw core::UserError("rlpp.algo.options: kind '" + kind +
                              "' has no options; kinds with options: advantages, objectives, selectors, samplers, "
                              "kl_controllers, entropy_controls, allocations");
      },
      py::arg("kind"), py::arg("name"), "the options of a component: [{key, type, default, help}, ...]");

  py::class_<Objective>(m, "Objective", "a policy objective: per-token losses and fixed metrics")
      .def_readonly("name", &Objective::name)
      .def("__call__", &Objective::call, py::arg("logp"), py::arg("logp_old") = py::none(), py::arg("advantages"),
           py::arg("mask") = py::none(), py::arg("entropy") = py::none(), py::arg("logp_proxy") = py::none(),
           "(token_loss (B, L), metrics) for the batch; batch statistics (bapo, clip_cov, ...) are fitted on it")
      .def("loss", &Objective::loss, py::arg("logp"), py::arg("logp_old") = py::none(), py::arg("advantages"),
           py::arg("mask") = py::none(), py::arg("entropy") = py::none(), py::arg("logp_proxy") = py::none(),
           py::arg("aggregation") = "token-mean", "(loss 0-dim, metrics): the token losses aggregated")
      .def_property_readonly("proxy_min_p", [](const Objective& o) { return o.impl->proxy_min_p(); });
  m.def(
      "objective",
      [](const std::string& name, py::kwargs options) {
        return Objective{name, build(algo::objective_registry(), "objective", name, options)};
      },
      py::arg("name"), "a registered policy objective (rlpp.algo.list()['objectives']) with its options");

  py::class_<Advantage>(m, "Advantage", "an advantage estimator")
      .def_readonly("name", &Advantage::name)
      .def(
          "__call__",
          [](Advantage& a, OptTensor rewards, OptTensor values, OptTensor terminated, OptTensor truncated,
             OptTensor next_value, OptTensor final_values, OptTensor seq_rewards, OptTensor group_ids,
             OptTensor lengths, OptTensor mask, OptTensor token_rewards, OptTensor logp, OptTensor logp_old) {
            algo::AdvantageInput in;
            in.rewards = or_empty(rewards);
            in.values = or_empty(values);
            in.terminated = or_empty(terminated);
            in.truncated = or_empty(truncated);
            in.next_value = or_empty(next_value);
            in.final_values = or_empty(final_values);
            in.seq_rewards = or_empty(seq_rewards);
            in.group_ids = or_empty(group_ids);
            in.lengths = or_empty(lengths);
            in.mask = or_empty(mask);
            in.token_rewards = or_empty(token_rewards);
            in.logp = or_empty(logp);
            in.logp_old = or_empty(logp_old);
            const algo::AdvantageOutput out = a.impl->compute(in);
            return py::make_tuple(out.advantages, or_none(out.returns));
          },
          py::kw_only(), py::arg("rewards") = py::none(), py::arg("values") = py::none(),
          py::arg("terminated") = py::none(), py::arg("truncated") = py::none(), py::arg("next_value") = py::none(),
          py::arg("final_values") = py::none(), py::arg("seq_rewards") = py::none(), py::arg("group_ids") = py::none(),
          py::arg("lengths") = py::none(), py::arg("mask") = py::none(), py::arg("token_rewards") = py::none(),
          py::arg("logp") = py::none(), py::arg("logp_old") = py::none(),
          "(advantages, returns or None): control fields (T, N) or language fields (B) / (B, L)");
  m.def(
      "advantage",
      [](const std::string& name, py::kwargs options) {
        return Advantage{name, build(algo::advantage_registry(), "advantage", name, options)};
      },
      py::arg("name"), "a registered advantage estimator (rlpp.algo.list()['advantages']) with its options");

  m.def(
      "aggregate",
      [](const torch::Tensor& token_loss, const OptTensor& mask, const std::string& aggregation) {
        return algo::aggregate_loss(token_loss, or_empty(mask), algo::aggregation_from_name(aggregation));
      },
      py::arg("token_loss"), py::arg("mask") = py::none(), py::arg("aggregation") = "token-mean",
      "the per-token losses (B, L) as one differentiable scalar (rlpp.algo.list()['aggregations'])");
  m.def(
      "kl",
      [](const std::string& name, const torch::Tensor& logp, const torch::Tensor& logp_ref) {
        return algo::kl_registry().get(name)(logp, logp_ref);
      },
      py::arg("name"), py::arg("logp"), py::arg("logp_ref"),
      "a KL estimator per token (rlpp.algo.list()['kl']): k1, k2, k3, k3+");

  py::class_<SelectorObj>(m, "Selector", "a selector of samples and tokens")
      .def_readonly("name", &SelectorObj::name)
      .def_property_readonly("shapes_rewards", [](const SelectorObj& s) { return s.impl->shapes_rewards(); })
      .def(
          "__call__",
          [](SelectorObj& s, OptTensor seq_rewards, OptTensor group_ids, OptTensor lengths, OptTensor truncated,
             OptTensor mask, OptTensor advantages, OptTensor entropy, OptTensor logp, OptTensor logp_old,
             int64_t step) {
            algo::SelectionInput in;
            in.seq_rewards = or_empty(seq_rewards);
            in.group_ids = or_empty(group_ids);
            in.lengths = or_empty(lengths);
            in.truncated = or_empty(truncated);
            in.mask = or_empty(mask);
            in.advantages = or_empty(advantages);
            in.entropy = or_empty(entropy);
            in.logp = or_empty(logp);
            in.logp_old = or_empty(logp_old);
            in.step = step;
            const algo::SelectionOutput out = s.impl->select(in);
            py::dict d;
            d["row_keep"] = or_none(out.row_keep);
            d["token_mask"] = or_none(out.token_mask);
            d["token_weight"] = or_none(out.token_weight);
            d["seq_rewards"] = or_none(out.seq_rewards);
            d["metrics"] = metrics_dict(out.metrics);
            return d;
          },
          py::kw_only(), py::arg("seq_rewards") = py::none(), py::arg("group_ids") = py::none(),
          py::arg("lengths") = py::none(), py::arg("truncated") = py::none(), py::arg("mask") = py::none(),
          py::arg("advantages") = py::none(), py::arg("entropy") = py::none(), py::arg("logp") = py::none(),
          py::arg("logp_old") = py::none(), py::arg("step") = 0,
          "{row_keep, token_mask, token_weight, seq_rewards, metrics}");
  m.def(
      "selector",
      [](const std::string& name, py::kwargs options) {
        return SelectorObj{name, build(algo::selector_registry(), "selector", name, options)};
      },
      py::arg("name"), "a registered selector (rlpp.algo.list()['selectors']) with its options");

  py::class_<SamplerObj>(m, "Sampler", "a token sampler: logits (B, V) -> processed logits (removed tokens -inf)")
      .def_readonly("name", &SamplerObj::name)
      .def(
          "__call__",
          [](SamplerObj& s, const torch::Tensor& logits, const OptTensor& temperature) {
            sample::SampleContext ctx;
            ctx.temperature = or_empty(temperature);
            return s.impl->apply(logits.to(torch::kFloat), ctx);
          },
          py::arg("logits"), py::arg("temperature") = py::none());
  m.def(
      "sampler",
      [](const std::string& name, py::kwargs options) {
        return SamplerObj{name, build(sample::sampler_registry(), "sampler", name, options)};
      },
      py::arg("name"), "a registered sampler (rlpp.algo.list()['samplers']) with its options");
}

}  // namespace rlpp::python

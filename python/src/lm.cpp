// rlpp.lm: a model directory (config.json + safetensors, and the tokenizer beside them) loaded into
// rlpp's transformer; tokenize, generate with a sampler chain (the recipe's [[samplers]] tables as
// dicts), and teacher-forced log-probs as differentiable torch tensors.
#include <filesystem>

#include "bindings.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/sample/generator.h"

namespace rlpp::python {

namespace {

struct Lm {
  std::string dir;
  nn::lm::TransformerLm model{nullptr};
  std::unique_ptr<nn::Tokenizer> tokenizer;  // null when the directory has none

  nn::Tokenizer& tok() const {
    if (!tokenizer) throw core::UserError(dir + ": no tokenizer.json or rlpp_tokenizer.json beside the model");
    return *tokenizer;
  }
};

Lm load(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw core::UserError("rlpp.lm.load: '" + dir + "' is not a directory");
  Lm lm;
  lm.dir = dir;
  lm.model = nn::lm::load_pretrained(dir);
  lm.model->eval();
  for (const char* name : {"tokenizer.json", "rlpp_tokenizer.json"}) {
    const fs::path p = fs::path(dir) / name;
    if (fs::exists(p)) {
      lm.tokenizer = nn::load_tokenizer(p.string());
      break;
    }
  }
  return lm;
}

// prompts: list of strings (encoded with the tokenizer) or of token-id lists.
std::vector<std::vector<int64_t>> prompt_ids(const Lm& lm, const py::list& prompts) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& p : prompts) {
    if (py::isinstance<py::str>(p)) {
      out.push_back(lm.tok().encode(p.cast<std::string>()));
    } else {
      out.push_back(p.cast<std::vector<int64_t>>());
    }
    if (out.back().empty()) throw core::UserError("rlpp.lm.generate: prompt " + std::to_string(out.size() - 1) + " is empty");
  }
  return out;
}

py::dict generate(Lm& lm, const py::list& prompts, const py::list& samplers, const py::dict& generation) {
  const std::string source = "rlpp.lm.generate";
  core::Recipe r = core::Recipe::parse("", source);
  r.table().insert("sample", options_table(generation, source));
  if (!samplers.empty()) {
    toml::array chain;
    for (const auto& s : samplers) {
      if (!py::isinstance<py::dict>(s)) {
        throw core::UserError(source + ": samplers must be dicts such as {\"name\": \"top_p\", \"top_p\": 0.9}");
      }
      chain.push_back(options_table(s.cast<py::dict>(), source));
    }
    r.table().insert("samplers", chain);
  }
  sample::SamplingRecipe sr = sample::read_sampling(r, "sample");
  const auto ids = prompt_ids(lm, prompts);
  sample::Generation g;
  {
    py::gil_scoped_release release;
    sample::Generator gen(sr.chain, sr.generation);
    g = gen.generate(*lm.model, ids);
  }
  py::dict d;
  d["tokens"] = g.tokens;
  d["mask"] = g.mask;
  d["lengths"] = g.lengths;
  d["logp"] = g.logp;
  d["logp_sample"] = g.logp_sample;
  d["entropy"] = g.entropy;
  d["group_id"] = g.group_id;
  py::list finish;
  for (auto f : g.finish_reason) finish.append(sample::to_string(f));
  d["finish_reason"] = finish;
  if (lm.tokenizer) {
    py::list texts;
    const torch::Tensor tokens = g.tokens.cpu(), lengths = g.lengths.cpu();
    for (int64_t b = 0; b < tokens.size(0); ++b) {
      const int64_t n = lengths[b].item<int64_t>();
      const torch::Tensor row = tokens[b].narrow(0, 0, n).contiguous();
      texts.append(lm.tokenizer->decode(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + n),
                                        /*skip_special=*/true));
    }
    d["texts"] = texts;
  }
  return d;
}

}  // namespace

void bind_lm(py::module_& m) {
  py::class_<Lm>(m, "Lm", "a causal language model with its tokenizer")
      .def_readonly("dir", &Lm::dir)
      .def_property_readonly("vocab_size", [](const Lm& lm) { return lm.model->config().vocab_size; })
      .def_property_readonly("has_tokenizer", [](const Lm& lm) { return static_cast<bool>(lm.tokenizer); })
      .def_property_readonly("eos_id", [](const Lm& lm) { return lm.tok().eos_id; })
      .def("encode", [](const Lm& lm, const std::string& text, bool add_special) { return lm.tok().encode(text, add_special); },
           py::arg("text"), py::arg("add_special") = false)
      .def("decode", [](const Lm& lm, const std::vector<int64_t>& ids, bool skip_special) {
             return lm.tok().decode(ids, skip_special);
           },
           py::arg("ids"), py::arg("skip_special") = false)
      .def("logprobs",
           [](Lm& lm, const torch::Tensor& tokens, const std::optional<torch::Tensor>& attention, double temperature,
              int64_t chunk) {
             const nn::lm::TokenLogProbs lp = nn::lm::token_logprobs(
                 lm.model, tokens, attention ? *attention : torch::Tensor(), chunk, temperature);
             return py::make_tuple(lp.logp, lp.entropy);
           },
           py::arg("tokens"), py::arg("attention") = py::none(), py::arg("temperature") = 1.0, py::arg("chunk") = 256,
           "teacher-forced (logp (B, L), entropy (B, L)); logp[:, t] = log pi(tokens[:, t] | tokens[:, <t]), "
           "differentiable in the model's parameters")
      .def("parameters",
           [](Lm& lm) {
             py::dict d;
             for (const auto& item : lm.model->named_parameters()) d[py::str(item.key())] = item.value();
             return d;
           },
           "the model's parameters by name (the same tensors: an optimizer from Python trains the model)")
      .def("train", [](Lm& lm, bool on) { lm.model->train(on); }, py::arg("mode") = true)
      .def_property(
          "fast_path", [](const Lm& lm) { return lm.model->fast_path(); },
          [](Lm& lm, bool on) { lm.model->set_fast_path(on); },
          "hand-written fp32 CPU kernels for generate and logprobs ([model] fast_path; default False)")
      .def("generate", &generate, py::arg("prompts"), py::arg("samplers") = py::list(),
           py::arg("generation") = py::dict(),
           "responses to each prompt (strings or token-id lists): samplers as [[samplers]] tables "
           "([{\"name\": \"top_p\", \"top_p\": 0.9}, {\"name\": \"temperature\", \"temperature\": 0.7}]), generation "
           "as [sample] ({\"max_new_tokens\": 32, \"num_return_sequences\": 4, \"seed\": 0})");
  m.def("load", &load, py::arg("dir"), "a model directory: config.json, model.safetensors, tokenizer.json");
}

}  // namespace rlpp::python

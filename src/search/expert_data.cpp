#include "rlpp/search/expert_data.h"

#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/sample/generator.h"
#include "rlpp/search/best_of_n.h"
#include "rlpp/search/loaded_lm.h"

namespace rlpp::search {

ExpertDataResult write_expert_data(const ExpertDataRequest& req) {
  core::require(!req.out_path.empty(), "expert-data: no output path");
  core::require(req.problems >= 1 && req.samples >= 1, "expert-data: problems and samples must be >= 1");
  core::require(req.torch_threads >= 1, "expert-data: torch_threads must be >= 1");
  torch::set_num_threads(static_cast<int>(req.torch_threads));
  LoadedLm run = load_lm(req.run_dir, req.task_run_dir);
  const env::text::TextTask& task = *run.data->task();
  const core::Recipe chain_recipe =
      core::Recipe::parse("[s]\ntemperature = " + std::to_string(req.temperature) + "\n", "expert-data");
  core::Binder b = core::Binder::reader(chain_recipe, "s");
  sample::SamplerChain chain = sample::build_chain({"temperature"}, b);
  b.finish();
  sample::GenerationOptions go;
  go.max_new_tokens = req.max_new_tokens;
  go.num_return_sequences = req.samples;
  go.seed = req.seed + 1;
  sample::Generator gen(chain, go);

  ExpertDataResult res;
  std::ostringstream out;
  for (const env::text::TaskInstance& inst : env::text::make_split(task, req.problems, req.seed)) {
    ++res.problems;
    const std::vector<int64_t> prompt = run.data->tokenize({inst.prompt, inst.solution, inst}, *run.tokenizer).prompt;
    const sample::Generation g = gen.generate(*run.model, {prompt});
    res.tokens_generated += g.tokens_generated;
    std::set<std::string> kept;  // distinct accepted solutions
    for (int64_t i = 0; i < g.tokens.size(0); ++i) {
      const int64_t len = g.lengths[i].item<int64_t>();
      const Tokens t(g.tokens[i].data_ptr<int64_t>(), g.tokens[i].data_ptr<int64_t>() + len);
      const std::string text = run.tokenizer->decode(t, /*skip_special=*/true);
      if (task.grade(inst, text) > 0.5 && kept.insert(text).second)
        out << nlohmann::json({{"prompt", inst.prompt}, {"response", text}}).dump() << "\n";
    }
    res.solved += kept.empty() ? 0 : 1;
    res.examples += static_cast<int64_t>(kept.size());
  }
  core::require(res.examples > 0, "expert-data: no sample was accepted by the verifier; nothing to learn from");
  core::atomic_write_file(req.out_path, out.str());
  return res;
}

}  // namespace rlpp::search

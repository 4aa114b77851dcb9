// Expert iteration / rejection-sampling fine-tuning data (STaR arXiv 2203.14465, the o1 roadmap's
// D_expert, arXiv 2412.14135): sample N solutions per fresh problem from a trained run, keep the
// distinct ones the task's verifier accepts, and write them as SFT data, one JSON object per line
// {"prompt": .., "response": ..} (data.source = "jsonl" of an `lm` recipe reads them).
#pragma once
#include <cstdint>
#include <string>

namespace rlpp::search {

struct ExpertDataRequest {
  std::string run_dir;
  std::string task_run_dir;  // "" = run_dir (loaded_lm.h)
  std::string out_path;      // the JSONL file
  int64_t problems = 512;
  int64_t samples = 8;       // N per problem
  double temperature = 1.0;
  uint64_t seed = 777;       // problem seed: keep it away from the evaluation seeds
  int64_t max_new_tokens = 64;
  int64_t torch_threads = 1;
};

struct ExpertDataResult {
  int64_t problems = 0;
  int64_t solved = 0;          // problems with at least one accepted sample
  int64_t examples = 0;        // lines written
  int64_t tokens_generated = 0;
};

ExpertDataResult write_expert_data(const ExpertDataRequest& req);

}  // namespace rlpp::search

// `rlpp agent-sft`: SFT data for agent RL — golden trajectories of generated tool-use dialogues as
// {prompt, response} JSONL (one line per assistant turn, the prompt rendered exactly as the RL
// rollout renders it; env/agent/agent_task.h), plus the character tokenizer of the agent task.
// Argument parsing only.
#include <atomic>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include "command.h"
#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/rng.h"
#include "rlpp/env/agent/agent_task.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"

namespace {

namespace agent = rlpp::env::agent;

struct AgentSftRequest {
  agent::AgentTaskOptions task;
  int64_t dialogues = 1000;
  uint64_t seed = 1;
  std::string out, tokenizer_out;
};

int run_agent_sft(const AgentSftRequest& r) {
  const agent::AgentTask task(r.task);
  rlpp::core::Rng rng(r.seed);
  std::ostringstream lines;
  int64_t pairs = 0;
  for (int64_t i = 0; i < r.dialogues; ++i) {
    const auto inst = task.sample(rng);
    for (const auto& p : task.sft_pairs(nlohmann::json::parse(inst.answer))) {
      lines << nlohmann::json{{"prompt", p.prompt}, {"response", p.response}}.dump() << "\n";
      ++pairs;
    }
    if ((i + 1) % 200 == 0) std::fprintf(stderr, "agent-sft: %lld/%lld dialogues\n", static_cast<long long>(i + 1),
                                         static_cast<long long>(r.dialogues));
  }
  rlpp::core::atomic_write_file(r.out, lines.str());
  std::printf("dialogues %lld  examples %lld\nrlpp: wrote %s\n", static_cast<long long>(r.dialogues),
              static_cast<long long>(pairs), r.out.c_str());
  if (!r.tokenizer_out.empty()) {
    rlpp::nn::CharTokenizerSpec spec;
    spec.alphabet = task.alphabet();
    spec.special_tokens = {"<pad>", "<bos>", "<eos>"};
    spec.pad_token = "<pad>";
    spec.bos_token = "<bos>";
    spec.eos_token = "<eos>";
    rlpp::nn::CharTokenizer(spec).save(r.tokenizer_out);
    std::printf("rlpp: wrote %s\n", r.tokenizer_out.c_str());
  }
  return 0;
}

const bool kRegistered = rlpp::cli::register_command([](CLI::App& app, const std::atomic<bool>&) {
  auto r = std::make_shared<AgentSftRequest>();
  auto* sub = app.add_subcommand("agent-sft", "golden tool-use trajectories as SFT JSONL, rendered as agent RL renders them");
  sub->add_option("--out", r->out, "JSONL file of {prompt, response} lines")->required();
  sub->add_option("--tokenizer-out", r->tokenizer_out, "also write the task's character tokenizer here");
  sub->add_option("--dialogues", r->dialogues, "generated dialogues")->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  sub->add_option("--seed", r->seed, "generator seed");
  sub->add_option("--min-tasks", r->task.min_tasks, "fewest tasks per dialogue")->check(CLI::Range(1, 4));
  sub->add_option("--max-tasks", r->task.max_tasks, "most tasks per dialogue")->check(CLI::Range(1, 4));
  sub->add_option("--types", r->task.types, "task types (single_tool multi_tool clarify chat)");
  sub->add_option("--chat-format", r->task.chat_format, "plain | chatml");
  sub->add_option("--tool-style", r->task.tool_style, "compact | full");
  sub->add_option("--distractor-tools", r->task.distractor_tools, "tools offered beyond the golden ones");
  sub->add_option("--turn-end", r->task.turn_end, "text of the token that ends a model turn");
  return rlpp::cli::Command{sub, [r] { return run_agent_sft(*r); }, false};
}, 220);

}  // namespace

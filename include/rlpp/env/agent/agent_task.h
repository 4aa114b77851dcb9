// The tool world as a text task for agent SFT and RL ("agent_tools" in the task registry, options
// in the recipe's [task] section). An instance is a freshly generated dialogue (case_generator.h)
// whose task types are drawn uniformly from `types`, min_tasks..max_tasks of them; its prompt is the
// opening chat (system message with the tools, the first request, the assistant header) and its
// answer holds the whole case as JSON. episode() plays it live (AgentEpisode) turn by turn.
//
// The environment's text after a model turn is the rendering of what the episode appended (tool
// responses, the stored user answer, the next request) followed by the next assistant header. A
// model turn ends with the token that stops generation (the tokenizer's end token), which the
// rendering of a past assistant turn lacks; SFT prompts are therefore built by playing the golden
// trajectory through this same environment with `turn_end` (that token's text) after each
// assistant turn, so that SFT and RL see the same text. Formats: plain and chatml (in chatml the
// template's newline after <|im_end|> opens the environment's text).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"
#include "rlpp/env/agent/agent_episode.h"
#include "rlpp/env/text/turn_env.h"

namespace rlpp::env::agent {

struct AgentTaskOptions {
  int64_t min_tasks = 1;
  int64_t max_tasks = 2;
  std::vector<std::string> types = {"single_tool", "multi_tool", "clarify", "chat"};
  std::string chat_format = "plain";   // plain | chatml
  std::string tool_style = "compact";  // compact | full (nn/tokenizer/tool_calls.h)
  int64_t distractor_tools = 1;        // tools offered beyond those the golden calls use
  int64_t extra_turns_per_task = 2;    // assistant turns a task may take beyond its golden count
  std::string turn_end = "<eos>";      // text of the token that ends a model turn (SFT prompts)

  void bind(core::Binder& b);
};

class AgentTask final : public text::TextTask, public text::MultiTurnTask {
 public:
  explicit AgentTask(AgentTaskOptions opts);
  text::TaskInstance sample(core::Rng& rng) const override;
  // A single response played as the whole dialogue's first turn: 1 when the episode then counts
  // every task solved (a one-task chat or single-call dialogue answered in one turn cannot be).
  double grade(const text::TaskInstance& inst, std::string_view response) const override;
  bool answer_parses(const text::TaskInstance& inst, std::string_view response) const override;
  std::string alphabet() const override;  // printable ASCII and the newline
  std::unique_ptr<text::TurnEnv> episode(const text::TaskInstance& inst) const override;
  // The same episode for a case read from a file.
  std::unique_ptr<text::TurnEnv> episode(const nlohmann::json& case_json) const;

  struct SftPair {
    std::string prompt;    // the dialogue so far, as the RL rollout renders it
    std::string response;  // the golden assistant turn (content, then its <tool_call> blocks)
  };
  // One pair per golden assistant turn of `case_json`, played through episode() (so every pair's
  // prompt is exactly the text an RL rollout of the golden trajectory would have before that turn).
  // UserError when the golden trajectory is not solved by the live episode.
  std::vector<SftPair> sft_pairs(const nlohmann::json& case_json) const;

  const AgentTaskOptions& options() const { return opts_; }

 private:
  AgentTaskOptions opts_;
  std::vector<TaskType> types_;
  nn::ChatFormat format_;
  EpisodeOptions episode_opts_;
};

}  // namespace rlpp::env::agent

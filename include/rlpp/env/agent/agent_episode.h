// An executable episode for agent RL: one case (or a freshly generated dialogue) played against a
// live tool world rebuilt from the case's world_seed. The policy writes assistant turns as text in
// the tool_calls.h format; the episode parses them, executes the calls, appends the tool responses,
// feeds the stored user answer when the agent asks for a missing parameter, and opens the next task
// after a text reply. It scores the trajectory the way the C³ evaluation judges a step, so that the
// RL reward and the benchmark agree:
//
//   a message of tool calls is right when each call matches a distinct golden node that is ready
//   (all its dependencies done in earlier messages; after the question, for clarify tasks) by name
//   and arguments (same keys; strings equal ignoring case, surrounding spaces and a final '.';
//   numbers equal; arrays equal as sorted lists; objects recursively);
//   a text reply asks (right when the task's ask_user node is pending), or ends the task (right when
//   every golden call is done); a reply whose only <tool_call> blocks are malformed ends it, failed.
//   task solved = every message of the task was right and the task ended with the final answer.
//
//   reward = kTaskWeight * solved tasks / tasks + kCallWeight * valid calls / calls
//   (a call is valid when its function is offered and its arguments pass check_arguments; a
//   malformed <tool_call> block counts as an invalid call; no calls at all = 1 in a dialogue of chat
//   tasks only, else 0, so that answering tool tasks with text earns nothing.)
//
// Turns record whether their text came from the model or from the environment, so that a trainer
// masks tool outputs and user turns out of the policy loss (episode_spans).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/env/agent/case_format.h"
#include "rlpp/env/agent/tool_world.h"
#include "rlpp/nn/tokenizer/chat_template.h"
#include "rlpp/nn/tokenizer/tool_calls.h"

namespace rlpp::env::agent {

inline constexpr double kTaskWeight = 0.7;
inline constexpr double kCallWeight = 0.3;

struct EpisodeOptions {
  nn::ToolStyle tool_style = nn::ToolStyle::kCompact;
  // assistant turns a task may take beyond its golden count before it is cut off (failed)
  int64_t extra_turns_per_task = 2;
};

struct EpisodeTurn {
  nn::ChatMessage message;  // as rendered into the chat (tool results wrapped in <tool_response>)
  bool from_model = false;
};

struct TaskOutcome {
  bool ended = false;
  bool solved = false;
  // first error: "" | wrong_function (a call no ready golden node has, e.g. a dependent call sent
  // with its dependency, or any call in a chat task) | wrong_arguments | hallucinated_function (not
  // offered) | call_before_asking | early_stop (text while golden calls remain) | malformed_call (a
  // reply whose only <tool_call> blocks are malformed) | too_many_turns
  std::string failure;
};

struct ActResult {
  int64_t tool_calls = 0;  // calls executed for this turn
  bool task_ended = false;
  bool done = false;
};

class AgentEpisode {
 public:
  // UserError when the case does not validate or has no world_seed.
  explicit AgentEpisode(nlohmann::json case_json, EpisodeOptions opts = {});
  // A freshly generated dialogue with the given task types.
  static AgentEpisode generated(const std::vector<TaskType>& path, uint64_t seed, EpisodeOptions opts = {});

  // The chat so far (system message with the tools first); the prompt for the next assistant turn is
  // nn::apply_chat_template(format, observe(), /*add_generation_prompt=*/true).
  std::vector<nn::ChatMessage> observe() const;
  // The same dialogue as OpenAI messages (assistant tool_calls parsed), for HTTP-served policies.
  const nlohmann::json& messages() const { return messages_; }

  // Plays one assistant turn. UserError when the episode is done.
  ActResult act(const std::string& assistant_text);

  bool done() const { return task_ >= num_tasks(); }
  int64_t num_tasks() const { return static_cast<int64_t>(case_.at("task").size()); }
  int64_t current_task() const { return task_; }
  const std::vector<TaskOutcome>& outcomes() const { return outcomes_; }
  int64_t calls() const { return calls_; }
  int64_t valid_calls() const { return valid_calls_; }
  // The reward formula above; tasks not yet ended count as unsolved.
  double reward() const;

  const std::vector<EpisodeTurn>& turns() const { return turns_; }
  const WorldState& world() const { return world_; }
  const nlohmann::json& case_json() const { return case_; }

 private:
  void push_env(const nlohmann::json& openai_message);
  void start_task();
  void end_task(bool solved, const std::string& failure);
  void fail(const std::string& failure);

  nlohmann::json case_;
  EpisodeOptions opts_;
  WorldState world_;
  std::vector<std::vector<nlohmann::json>> segments_;
  nlohmann::json messages_ = nlohmann::json::array();
  std::vector<EpisodeTurn> turns_;
  std::vector<TaskOutcome> outcomes_;
  int64_t task_ = 0;
  std::vector<bool> node_done_;  // current task's golden nodes
  bool task_failed_ = false;
  int64_t turns_in_task_ = 0, max_turns_in_task_ = 0;
  int64_t calls_ = 0, valid_calls_ = 0;
  int next_call_id_ = 0;
};

// Whether predicted arguments match golden ones (the rule in the header comment).
bool arguments_match(const nlohmann::json& golden, const nlohmann::json& predicted);

struct TextSpan {
  std::string text;
  bool from_model = false;
};
// The whole dialogue rendered in `format` and cut into spans whose concatenation is
// apply_chat_template(format, all messages, false): each assistant turn's generation header belongs
// to the environment, its content (and end marker) to the model — the loss mask for RL.
std::vector<TextSpan> episode_spans(const std::vector<EpisodeTurn>& turns, nn::ChatFormat format);

}  // namespace rlpp::env::agent

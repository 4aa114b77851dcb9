// Golden trajectories: the dialogue a perfect agent would have on a case, for SFT warm-starting
// (the policy learns the tool-call format and when to call, ask or answer before agent RL).
//
// Per task: the user request; for clarify, the assistant's question and the user's stored answer;
// one assistant message per golden step (a topological layer of the DAG, so parallel calls share a
// message — the shortest path), each followed by one tool message per call carrying the stored
// observation; then the final answer (the segment's last assistant message). Chat tasks get the
// plain answer. Earlier tasks' tool exchanges stay in the dialogue, as they would in a live episode.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/nn/tokenizer/chat_template.h"
#include "rlpp/nn/tokenizer/tool_calls.h"

namespace rlpp::env::agent {

// The golden dialogue as OpenAI chat messages: system (system_prompt), then the turns above;
// assistant tool calls carry ids "call_<n>" counted through the dialogue, answered by tool
// messages with the same tool_call_id. UserError when the case does not validate.
nlohmann::json golden_messages(const nlohmann::json& case_json);

struct SftExample {
  std::string prompt;    // chat-templated dialogue so far, ending with the assistant generation header
  std::string response;  // the assistant turn: its text, then its <tool_call> blocks
};

// One example per assistant turn of golden_messages, with the case's tools rendered into the
// system message in `style` and the dialogue rendered in `format`.
std::vector<SftExample> golden_sft_examples(const nlohmann::json& case_json, nn::ChatFormat format, nn::ToolStyle style);

// {"prompt": ..., "response": ...} — the lm trainer's JSONL format (train/lm/lm_data.h).
std::string sft_jsonl_line(const SftExample& ex);

}  // namespace rlpp::env::agent

#include "rlpp/env/agent/agent_task.h"

#include "rlpp/core/error.h"
#include "rlpp/env/agent/case_generator.h"
#include "rlpp/env/agent/golden_trajectory.h"

namespace rlpp::env::agent {

namespace {

using nlohmann::json;

// One live dialogue; the text interface of an AgentEpisode.
class AgentTurnEnv final : public text::TurnEnv {
 public:
  AgentTurnEnv(json case_json, const EpisodeOptions& opts, nn::ChatFormat format)
      : episode_(std::move(case_json), opts), format_(format) {}

  std::string opening() override { return nn::apply_chat_template(format_, episode_.observe(), true); }

  Reply respond(const std::string& model_turn) override {
    const size_t before = episode_.turns().size();
    episode_.act(model_turn);
    std::vector<nn::ChatMessage> added;  // what the environment appended after the model's turn
    for (size_t i = before + 1; i < episode_.turns().size(); ++i) added.push_back(episode_.turns()[i].message);
    Reply r;
    r.done = episode_.done();
    if (!added.empty() || !r.done) {
      r.text = nn::apply_chat_template(format_, added, /*add_generation_prompt=*/!r.done);
      if (format_ == nn::ChatFormat::kChatml) r.text = "\n" + r.text;
    }
    return r;
  }

  double reward() const override { return episode_.reward(); }
  // Every task of the dialogue solved.
  double correct() const override {
    for (const auto& o : episode_.outcomes())
      if (!o.solved) return 0.0;
    return 1.0;
  }

 private:
  AgentEpisode episode_;
  nn::ChatFormat format_;
};

}  // namespace

void AgentTaskOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("min_tasks", min_tasks, "fewest tasks per dialogue", Bounds::closed(1, 4));
  b.integer("max_tasks", max_tasks, "most tasks per dialogue", Bounds::closed(1, 4));
  b.texts("types", types, "task types drawn for each task", {"single_tool", "multi_tool", "clarify", "chat"});
  b.choice("chat_format", chat_format, {"plain", "chatml"}, "chat template of the dialogue");
  b.choice("tool_style", tool_style, {"compact", "full"}, "how tools are described in the system message");
  b.integer("distractor_tools", distractor_tools, "tools offered beyond those the golden calls use", Bounds::closed(0, 16));
  b.integer("extra_turns_per_task", extra_turns_per_task, "assistant turns a task may take beyond its golden count",
            Bounds::closed(0, 16));
  b.text("turn_end", turn_end, "text of the token that ends a model turn (the tokenizer's end token)");
}

AgentTask::AgentTask(AgentTaskOptions opts) : opts_(std::move(opts)) {
  core::require(opts_.min_tasks <= opts_.max_tasks, "agent task: min_tasks (" + std::to_string(opts_.min_tasks) +
                                                        ") must be <= max_tasks (" + std::to_string(opts_.max_tasks) + ")");
  core::require(!opts_.types.empty(), "agent task: types must name at least one task type");
  for (const auto& t : opts_.types) types_.push_back(task_type_from_name(t));
  format_ = nn::chat_format_from_name(opts_.chat_format);
  episode_opts_.tool_style = nn::tool_style_from_name(opts_.tool_style);
  episode_opts_.extra_turns_per_task = opts_.extra_turns_per_task;
}

text::TaskInstance AgentTask::sample(core::Rng& rng) const {
  const auto span = static_cast<uint64_t>(opts_.max_tasks - opts_.min_tasks + 1);
  const int64_t n = opts_.min_tasks + static_cast<int64_t>(rng.below(span));
  std::vector<TaskType> path;
  for (int64_t i = 0; i < n; ++i) path.push_back(types_[rng.below(types_.size())]);
  const uint64_t seed = rng.next_u64();
  std::string letters;
  for (TaskType t : path) letters += task_type_letter(t);
  json c = generate_case(path, seed, "agent-" + std::to_string(seed) + "-" + letters, opts_.distractor_tools);
  text::TaskInstance inst;
  inst.prompt = AgentTurnEnv(c, episode_opts_, format_).opening();
  inst.answer = c.dump();
  const auto pairs = sft_pairs(c);
  inst.solution = pairs.empty() ? "" : pairs.front().response;
  return inst;
}

std::unique_ptr<text::TurnEnv> AgentTask::episode(const text::TaskInstance& inst) const {
  const json c = json::parse(inst.answer, nullptr, /*allow_exceptions=*/false);
  core::require(!c.is_discarded(), "agent task: an instance's answer is not a case (JSON)");
  return episode(c);
}

std::unique_ptr<text::TurnEnv> AgentTask::episode(const json& case_json) const {
  return std::make_unique<AgentTurnEnv>(case_json, episode_opts_, format_);
}

double AgentTask::grade(const text::TaskInstance& inst, std::string_view response) const {
  auto env = episode(inst);
  const auto reply = env->respond(std::string(response));
  return reply.done ? env->correct() : 0.0;
}

bool AgentTask::answer_parses(const text::TaskInstance&, std::string_view response) const {
  return nn::parse_assistant_reply(response).errors.empty();
}

std::string AgentTask::alphabet() const {
  std::string a = "\n";
  for (char c = 32; c < 127; ++c) a += c;
  return a;
}

std::vector<AgentTask::SftPair> AgentTask::sft_pairs(const json& case_json) const {
  // The golden assistant turns as the model writes them: content, then the rendered calls.
  const auto rendered = nn::chat_messages_with_tools(golden_messages(case_json), json::array(), episode_opts_.tool_style);
  auto env = episode(case_json);
  std::string text = env->opening();
  std::vector<SftPair> out;
  for (const auto& m : rendered) {
    if (m.role != "assistant") continue;
    core::require(!out.empty() || text.size() > 0, "agent task: empty opening");
    out.push_back({text, m.content});
    const auto reply = env->respond(m.content);
    text += m.content + opts_.turn_end + reply.text;
    if (reply.done) break;
  }
  core::require(env->correct() == 1.0, "agent task: the golden trajectory of case " +
                                           case_json.value("id", std::string("?")) + " does not solve it");
  return out;
}

}  // namespace rlpp::env::agent

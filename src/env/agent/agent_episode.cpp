#include "rlpp/env/agent/agent_episode.h"

#include <algorithm>
#include <cctype>

#include "rlpp/core/error.h"
#include "rlpp/env/agent/case_generator.h"
#include "rlpp/env/agent/case_validation.h"
#include "rlpp/env/agent/schema_check.h"

namespace rlpp::env::agent {

using json = nlohmann::json;

namespace {

std::string normalize_text(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && (std::isspace(static_cast<unsigned char>(s[e - 1])) || s[e - 1] == '.')) --e;
  std::string out = s.substr(b, e - b);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A canonical form for comparison: strings normalised, arrays sorted, numbers as doubles.
json canonical(const json& v) {
  if (v.is_string()) return normalize_text(v.get<std::string>());
  if (v.is_number()) return v.get<double>();
  if (v.is_array()) {
    std::vector<json> items;
    for (const json& x : v) items.push_back(canonical(x));
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
    return json(items);
  }
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = canonical(it.value());
    return out;
  }
  return v;
}

const json* offered_tool(const json& tools, const std::string& name) {
  for (const json& t : tools)
    if (t.at("function").at("name") == name) return &t;
  return nullptr;
}

}  // namespace

bool arguments_match(const json& golden, const json& predicted) {
  return golden.is_object() && predicted.is_object() && canonical(golden) == canonical(predicted);
}

AgentEpisode::AgentEpisode(json case_json, EpisodeOptions opts) : case_(std::move(case_json)), opts_(opts) {
  const auto problems = validate_case(case_);
  if (!problems.empty()) throw core::UserError("case " + case_.value("id", std::string("?")) + " is malformed: " + problems.front());
  core::require(case_.contains("world_seed") && case_.at("world_seed").is_number_unsigned(),
                "case " + case_.value("id", std::string("?")) + " has no world_seed: it cannot be executed");
  core::require(opts_.extra_turns_per_task >= 0, "extra_turns_per_task must be >= 0");
  world_ = make_world(case_.at("world_seed").get<uint64_t>());
  segments_ = message_segments(case_.at("messages"));
  outcomes_.resize(static_cast<size_t>(num_tasks()));
  push_env({{"role", "system"}, {"content", system_prompt(case_)}});
  start_task();
}

AgentEpisode AgentEpisode::generated(const std::vector<TaskType>& path, uint64_t seed, EpisodeOptions opts) {
  std::string letters;
  for (TaskType t : path) letters += task_type_letter(t);
  return AgentEpisode(generate_case(path, seed, "generated-" + std::to_string(seed) + "-" + letters), opts);
}

std::vector<nn::ChatMessage> AgentEpisode::observe() const {
  std::vector<nn::ChatMessage> out;
  for (const auto& t : turns_) out.push_back(t.message);
  return out;
}

void AgentEpisode::push_env(const json& m) {
  const bool system = m.at("role") == "system";
  // rendered exactly as chat_messages_with_tools renders a whole dialogue (tools into the system turn)
  const auto chat = nn::chat_messages_with_tools(json::array({m}), system ? case_.at("tools") : json::array(), opts_.tool_style);
  turns_.push_back({chat.at(0), false});
  messages_.push_back(m);
}

void AgentEpisode::start_task() {
  const json& nodes = case_.at("answer_list")[task_];
  node_done_.assign(nodes.size(), false);
  task_failed_ = false;
  turns_in_task_ = 0;
  int64_t asks = 0;
  for (const json& n : nodes) asks += n.at("action").at("name") == kAskUser;
  max_turns_in_task_ = asks + static_cast<int64_t>(golden_tool_layers(nodes).size()) + 1 + opts_.extra_turns_per_task;
  std::string text = case_.at("task")[task_].get<std::string>();
  const size_t at = case_.contains("task_ids") ? case_.at("task_ids")[task_].get<size_t>() : 0;  // validated
  const auto& seg = segments_[static_cast<size_t>(task_)];
  if (at < seg.size() && seg[at].is_object() && seg[at].value("role", "") == "user" && seg[at].contains("content") &&
      seg[at].at("content").is_string())
    text = seg[at].at("content").get<std::string>();
  push_env({{"role", "user"}, {"content", text}});
}

void AgentEpisode::fail(const std::string& failure) {
  if (task_failed_) return;
  task_failed_ = true;
  outcomes_[task_].failure = failure;
}

void AgentEpisode::end_task(bool solved, const std::string& failure) {
  if (!solved) fail(failure);
  outcomes_[task_].ended = true;
  outcomes_[task_].solved = solved && !task_failed_;
  ++task_;
  if (!done()) start_task();
}

ActResult AgentEpisode::act(const std::string& text) {
  core::require(!done(), "act() on a finished episode");
  const json& nodes = case_.at("answer_list")[task_];
  const json& tools = case_.at("tools");
  const nn::AssistantReply reply = nn::parse_assistant_reply(text, next_call_id_);
  next_call_id_ += static_cast<int>(reply.tool_calls.size());

  json msg = {{"role", "assistant"}, {"content", reply.content}};
  if (!reply.tool_calls.empty()) {
    msg["tool_calls"] = json::array();
    for (const auto& c : reply.tool_calls)
      msg["tool_calls"].push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  messages_.push_back(msg);
  turns_.push_back({{"assistant", text}, true});
  ++turns_in_task_;
  calls_ += static_cast<int64_t>(reply.errors.size());  // a malformed block is an invalid call

  ActResult result;
  int ask = -1;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].at("action").at("name") == kAskUser && !node_done_[i]) ask = static_cast<int>(i);

  if (!reply.tool_calls.empty()) {
    // ready = tool nodes not done whose dependencies were all done before this message
    std::vector<bool> ready(nodes.size(), false), matched(nodes.size(), false);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (node_done_[i] || is_pseudo_action(nodes[i].at("action").at("name").get<std::string>())) continue;
      bool ok = true;
      for (const json& d : nodes[i].at("dependency_list")) ok = ok && node_done_[d.get<size_t>()];
      ready[i] = ok;
    }
    for (const auto& c : reply.tool_calls) {
      const json* schema = offered_tool(tools, c.name);
      ++calls_;
      valid_calls_ += schema != nullptr && check_arguments(*schema, c.arguments).empty();
      const std::string obs =
          schema ? execute_tool(&world_, c.name, c.arguments) : json{{"error", "unknown tool '" + c.name + "'"}}.dump();
      push_env({{"role", "tool"}, {"tool_call_id", c.id}, {"content", obs}});
      ++result.tool_calls;
      if (task_failed_) continue;
      int hit = -1;
      bool same_name = false;
      for (size_t i = 0; i < nodes.size() && hit < 0; ++i) {
        if (!ready[i] || matched[i] || nodes[i].at("action").at("name") != c.name) continue;
        same_name = true;
        if (arguments_match(nodes[i].at("action").value("arguments", json::object()), c.arguments)) hit = static_cast<int>(i);
      }
      if (hit >= 0) matched[hit] = true;
      else if (!schema) fail("hallucinated_function");
      else if (ask >= 0) fail("call_before_asking");
      else fail(same_name ? "wrong_arguments" : "wrong_function");
    }
    for (size_t i = 0; i < nodes.size(); ++i)
      if (matched[i]) node_done_[i] = true;
  } else if (!reply.errors.empty()) {
    end_task(false, "malformed_call");
    result.task_ended = true;
    result.done = done();
    return result;
  } else if (ask >= 0 && !task_failed_) {
    node_done_[ask] = true;  // the agent asked: the user answers with the stored input
    push_env({{"role", "user"}, {"content", nodes[ask].at("user_input")}});
  } else {
    bool all_done = ask < 0;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!is_pseudo_action(nodes[i].at("action").at("name").get<std::string>())) all_done = all_done && node_done_[i];
    end_task(all_done, "early_stop");
    result.task_ended = true;
    result.done = done();
    return result;
  }
  if (turns_in_task_ >= max_turns_in_task_) {
    end_task(false, "too_many_turns");
    result.task_ended = true;
  }
  result.done = done();
  return result;
}

double AgentEpisode::reward() const {
  int64_t solved = 0;
  for (const auto& o : outcomes_) solved += o.solved;
  const double task = static_cast<double>(solved) / static_cast<double>(num_tasks());
  // No calls earn the call term only in a dialogue that needs none: otherwise a policy that never
  // calls would collect it for free (RL learns to answer tool tasks with text).
  bool needs_calls = false;
  for (const auto& t : case_.at("type")) needs_calls = needs_calls || t != "chat";
  const double call = calls_ == 0 ? (needs_calls ? 0.0 : 1.0)
                                  : static_cast<double>(valid_calls_) / static_cast<double>(calls_);
  return kTaskWeight * task + kCallWeight * call;
}

std::vector<TextSpan> episode_spans(const std::vector<EpisodeTurn>& turns, nn::ChatFormat format) {
  std::vector<TextSpan> out;
  std::vector<nn::ChatMessage> prefix;
  std::string rendered;  // apply_chat_template(prefix, false)
  auto append = [&](const std::string& next, bool from_model) {
    if (next.compare(0, rendered.size(), rendered) != 0)
      throw std::logic_error("episode_spans: the chat format does not render dialogues by appending turns");
    if (next.size() > rendered.size()) out.push_back({next.substr(rendered.size()), from_model});
    rendered = next;
  };
  for (const auto& t : turns) {
    if (t.from_model) append(nn::apply_chat_template(format, prefix, /*add_generation_prompt=*/true), false);
    prefix.push_back(t.message);
    append(nn::apply_chat_template(format, prefix, /*add_generation_prompt=*/false), t.from_model);
  }
  return out;
}

}  // namespace rlpp::env::agent

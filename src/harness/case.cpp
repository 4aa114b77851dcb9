#include "rlpp/harness/case.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "rlpp/core/error.h"

namespace rlpp::harness {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// idx and dependency_list entries are integers in C³-Bench files; numeric strings are accepted too.
int as_index(const json& v, const std::string& where) {
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    try {
      size_t used = 0;
      const int i = std::stoi(s, &used);
      if (used == s.size()) return i;
    } catch (const std::exception&) {
    }
  }
  bad(where + " must be an integer, got " + v.dump());
}

// "=====" strings split the flat message list into task segments (C³-Bench); a list of lists is
// accepted as already split.
std::vector<json> split_segments(const json& messages) {
  std::vector<json> segs;
  if (!messages.is_array()) bad("'messages' must be an array");
  if (!messages.empty() && messages[0].is_array()) {
    for (const auto& s : messages) {
      if (!s.is_array()) bad("'messages' mixes lists and messages");
      segs.push_back(s);
    }
    return segs;
  }
  json cur = json::array();
  for (const auto& m : messages) {
    if (m.is_string() && m.get<std::string>().find("=====") != std::string::npos) {
      segs.push_back(cur);
      cur = json::array();
    } else {
      cur.push_back(m);
    }
  }
  if (!cur.empty()) segs.push_back(cur);
  return segs;
}

void check_message(const json& m, const std::string& where) {
  if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
    bad(where + " must be an object with a string 'role'");
  const auto role = m["role"].get<std::string>();
  if (role != "system" && role != "user" && role != "assistant" && role != "tool")
    bad(where + " has unknown role '" + role + "'");
  if (role != "assistant" && !(m.contains("content") && m["content"].is_string()))
    bad(where + " needs a string 'content'");
}

// Kahn's algorithm; true when the dependency graph has a cycle.
bool has_cycle(const std::vector<GoldenNode>& nodes) {
  const size_t n = nodes.size();
  std::vector<int> indeg(n, 0);
  std::vector<std::vector<int>> out(n);
  for (size_t i = 0; i < n; ++i)
    for (int d : nodes[i].deps) {
      ++indeg[i];
      out[d].push_back(static_cast<int>(i));
    }
  std::vector<int> ready;
  for (size_t i = 0; i < n; ++i)
    if (indeg[i] == 0) ready.push_back(static_cast<int>(i));
  size_t seen = 0;
  while (!ready.empty()) {
    const int v = ready.back();
    ready.pop_back();
    ++seen;
    for (int w : out[v])
      if (--indeg[w] == 0) ready.push_back(w);
  }
  return seen != n;
}

std::vector<GoldenNode> parse_nodes(const json& list, const std::vector<std::string>& tool_names,
                                    const std::string& where) {
  if (!list.is_array() || list.empty()) bad(where + " must be a non-empty array of golden nodes");
  std::vector<GoldenNode> nodes;
  std::map<int, int> pos_of_idx;
  for (size_t k = 0; k < list.size(); ++k) {
    const json& j = list[k];
    const std::string w = where + "[" + std::to_string(k) + "]";
    if (!j.is_object()) bad(w + " must be an object");
    GoldenNode n;
    if (!j.contains("idx")) bad(w + " lacks 'idx'");
    n.idx = as_index(j["idx"], w + ".idx");
    if (pos_of_idx.count(n.idx)) bad(w + ".idx " + std::to_string(n.idx) + " repeats an earlier node");
    pos_of_idx[n.idx] = static_cast<int>(k);
    if (!j.contains("action") || !j["action"].is_object()) bad(w + " lacks an 'action' object");
    const json& a = j["action"];
    if (!a.contains("name") || !a["name"].is_string() || a["name"].get<std::string>().empty())
      bad(w + ".action lacks a 'name'");
    n.name = a["name"].get<std::string>();
    n.arguments = a.value("arguments", json::object());
    if (n.arguments.is_null()) n.arguments = json::object();
    if (n.arguments.is_string()) {  // some files store arguments as a JSON string, as OpenAI does
      try {
        n.arguments = json::parse(n.arguments.get<std::string>());
      } catch (const json::exception&) {
        bad(w + ".action.arguments is a string that is not JSON");
      }
    }
    if (!n.arguments.is_object()) bad(w + ".action.arguments must be an object");
    if (n.name == kAskUserAction) {
      n.kind = NodeKind::kAskUser;
      if (!j.contains("user_input") || !j["user_input"].is_string() || j["user_input"].get<std::string>().empty())
        bad(w + " (" + n.name + ") needs the stored 'user_input'");
      n.user_input = j["user_input"].get<std::string>();
    } else if (n.name == kPrepareToAnswerAction) {
      n.kind = NodeKind::kPrepareToAnswer;
      n.answer_type = n.arguments.value("answer_type", std::string("tool"));
      if (n.answer_type != "tool" && n.answer_type != "chat")
        bad(w + " prepare_to_answer answer_type must be 'tool' or 'chat', got '" + n.answer_type + "'");
    } else {
      n.kind = NodeKind::kTool;
      if (std::find(tool_names.begin(), tool_names.end(), n.name) == tool_names.end())
        bad(w + " calls '" + n.name + "', which is not in 'tools'");
      if (!j.contains("observation") || j["observation"].is_null())
        bad(w + " (" + n.name + ") lacks its 'observation'");
      n.observation = j["observation"];
    }
    nodes.push_back(std::move(n));
  }
  // dependency_list holds idx values; translate them to positions once every idx is known.
  for (size_t k = 0; k < list.size(); ++k) {
    const std::string w = where + "[" + std::to_string(k) + "].dependency_list";
    const json deps = list[k].value("dependency_list", json::array());
    if (!deps.is_array()) bad(w + " must be an array");
    for (const auto& d : deps) {
      const int idx = as_index(d, w);
      const auto it = pos_of_idx.find(idx);
      if (it == pos_of_idx.end()) bad(w + " names idx " + std::to_string(idx) + ", which is not a node of this task");
      if (it->second == static_cast<int>(k)) bad(w + " makes node " + std::to_string(idx) + " depend on itself");
      nodes[k].deps.push_back(it->second);
    }
  }
  if (has_cycle(nodes)) bad(where + " has a dependency cycle");
  const auto n_prepare = std::count_if(nodes.begin(), nodes.end(),
                                       [](const GoldenNode& n) { return n.kind == NodeKind::kPrepareToAnswer; });
  if (n_prepare != 1) bad(where + " must hold exactly one prepare_to_answer node, has " + std::to_string(n_prepare));
  return nodes;
}

TurnType parse_turn_type(const json& v, const std::string& where) {
  if (v.is_boolean()) return v.get<bool>() ? TurnType::kTrue : TurnType::kFalse;
  if (v.is_null()) return TurnType::kUnknown;
  if (v.is_string()) {
    const std::string s = lower(v.get<std::string>());
    if (s == "true" || s == "\xe7\x9c\x9f" /* 真 */) return TurnType::kTrue;
    if (s == "false" || s == "\xe5\x81\x87" /* 假 */) return TurnType::kFalse;
  }
  bad(where + " must be true, false or null, got " + v.dump());
}

// A per-task field that may also be given once for the whole dialogue.
json per_task(const json& j, const char* key, size_t n_tasks) {
  if (!j.contains(key) || j[key].is_null()) return json();
  const json& v = j[key];
  if (v.is_array() && v.size() == n_tasks) return v;
  if (!v.is_array()) return json(std::vector<json>(n_tasks, v));
  bad(std::string("'") + key + "' has " + std::to_string(v.size()) + " entries for " + std::to_string(n_tasks) +
      " tasks");
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
long days_from_civil(long y, long m, long d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "Tuesday" for "2026-12-01..." (the first 10 characters), "" when they are not a valid date.
std::string weekday_of(const std::string& s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return "";
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return "";
  const long y = std::stol(s.substr(0, 4)), m = std::stol(s.substr(5, 2)), d = std::stol(s.substr(8, 2));
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1] || (m == 2 && d == 29 && !leap)) return "";
  static const char* kNames[] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"};
  return kNames[((days_from_civil(y, m, d) % 7) + 7) % 7];  // 1970-01-01 was a Thursday
}

}  // namespace

std::string system_text_for_env_info(const std::string& env_info) {
  const std::string weekday = weekday_of(env_info);
  if (weekday.empty()) return "You are a helpful assistant. Current date: " + env_info + ".";
  return "You are a helpful assistant. Today is " + env_info.substr(0, 10) + " (" + weekday + ").";
}

std::string_view task_type_name(TaskType t) {
  switch (t) {
    case TaskType::kSingleTool: return "single_tool";
    case TaskType::kMultiTool: return "multi_tool";
    case TaskType::kClarify: return "clarify";
    case TaskType::kChat: return "chat";
  }
  return "?";
}

TaskType task_type_from_name(std::string_view name) {
  std::string s = lower(name);
  for (char& c : s)
    if (c == '-' || c == ' ') c = '_';
  static const std::map<std::string, TaskType> kNames = {
      {"single_tool", TaskType::kSingleTool}, {"single", TaskType::kSingleTool},
      {"single_tool_call", TaskType::kSingleTool}, {"multi_tool", TaskType::kMultiTool},
      {"multi", TaskType::kMultiTool}, {"multiple", TaskType::kMultiTool},
      {"multiple_tool", TaskType::kMultiTool}, {"multi_tools", TaskType::kMultiTool},
      {"multiple_tools", TaskType::kMultiTool}, {"multi_tool_call", TaskType::kMultiTool},
      {"clarify", TaskType::kClarify}, {"clarification", TaskType::kClarify},
      {"clarity", TaskType::kClarify}, {"ask_user", TaskType::kClarify},
      {"chat", TaskType::kChat}, {"chitchat", TaskType::kChat}};
  const auto it = kNames.find(s);
  if (it == kNames.end())
    throw std::invalid_argument("unknown task type '" + std::string(name) +
                                "' (valid: single_tool, multi_tool, clarify, chat)");
  return it->second;
}

std::string Case::type_path(int len) const {
  const size_t n = len < 0 ? tasks.size() : std::min(tasks.size(), static_cast<size_t>(len));
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ">";
    out += task_type_name(tasks[i].type);
  }
  return out;
}

std::string observation_text(const json& observation) {
  return observation.is_string() ? observation.get<std::string>() : observation.dump();
}

Case parse_case(const json& j, int line, const CaseReadOptions& opts) {
  if (!j.is_object()) bad("a case must be a JSON object");
  Case c;
  c.line = line;
  if (!j.contains("id")) bad("lacks 'id'");
  c.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();

  if (!j.contains("task")) bad("lacks 'task'");
  json task_list = j["task"].is_string() ? json::array({j["task"]}) : j["task"];
  if (!task_list.is_array() || task_list.empty()) bad("'task' must be a non-empty array of strings");
  const size_t n = task_list.size();

  if (!j.contains("type")) bad("lacks 'type'");
  const json types = j["type"].is_string() ? json::array({j["type"]}) : j["type"];
  if (!types.is_array() || types.size() != n)
    bad("'type' must hold one entry per task (" + std::to_string(n) + "), got " + j["type"].dump());

  if (!j.contains("tools") || !j["tools"].is_array()) bad("'tools' must be an array");
  c.tools = j["tools"];
  std::vector<std::string> tool_names;
  for (size_t i = 0; i < c.tools.size(); ++i) {
    const json& t = c.tools[i];
    const std::string w = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("function") || !t["function"].is_object() ||
        !t["function"].contains("name") || !t["function"]["name"].is_string())
      bad(w + " must be {type: \"function\", function: {name, ...}}");
    const json params = t["function"].value("parameters", json::object());
    if (!params.is_object()) bad(w + ".function.parameters must be an object");
    tool_names.push_back(t["function"]["name"].get<std::string>());
  }

  if (!j.contains("answer_list") || !j["answer_list"].is_array()) bad("'answer_list' must be an array");
  json answers = j["answer_list"];
  if (n == 1 && !answers.empty() && answers[0].is_object()) answers = json::array({answers});  // one task, flat
  if (answers.size() != n)
    bad("'answer_list' has " + std::to_string(answers.size()) + " entries for " + std::to_string(n) + " tasks");

  if (!j.contains("messages")) bad("lacks 'messages'");
  const std::vector<json> segs = split_segments(j["messages"]);
  if (segs.size() != n)
    bad("'messages' has " + std::to_string(segs.size()) + " task segments for " + std::to_string(n) + " tasks");
  const json task_ids = per_task(j, "task_ids", n);
  const json env_info = per_task(j, "env_info", n);
  const json turn_type = per_task(j, "turn_type", n);
  const json subtypes = per_task(j, "turn_subtypes", n);

  json history = json::array();
  for (size_t i = 0; i < n; ++i) {
    const std::string ti = "[" + std::to_string(i) + "]";
    Task t;
    if (!task_list[i].is_string()) bad("task" + ti + " must be a string");
    t.text = task_list[i].get<std::string>();
    if (!types[i].is_string()) bad("type" + ti + " must be a string");
    try {
      t.type = task_type_from_name(types[i].get<std::string>());
    } catch (const std::invalid_argument& e) {
      bad("type" + ti + ": " + e.what());
    }
    t.nodes = parse_nodes(answers[i], tool_names, "answer_list" + ti);

    const json& seg = segs[i];
    for (size_t m = 0; m < seg.size(); ++m)
      check_message(seg[m], "messages segment " + std::to_string(i) + " message " + std::to_string(m));
    // The task's user message: task_ids[i] when given, else the segment's first user message that
    // contains the task text, else its last user message.
    int at = -1;
    if (!task_ids.is_null()) {
      at = as_index(task_ids[i], "task_ids" + ti);
    } else {
      for (size_t m = 0; m < seg.size() && at < 0; ++m)
        if (seg[m]["role"] == "user" && seg[m]["content"].get<std::string>().find(t.text) != std::string::npos)
          at = static_cast<int>(m);
      if (at < 0)
        for (size_t m = 0; m < seg.size(); ++m)
          if (seg[m]["role"] == "user") at = static_cast<int>(m);
    }
    if (at < 0 || at >= static_cast<int>(seg.size()) || seg[at]["role"] != "user")
      bad("messages segment " + std::to_string(i) + " has no user message for the task at index " +
          std::to_string(at));
    // The golden history of earlier tasks (their whole segments) + this segment up to the task.
    json prompt = history;
    for (int m = 0; m <= at; ++m) prompt.push_back(seg[m]);
    if (!env_info.is_null() && !env_info[i].is_null()) {
      if (!env_info[i].is_string()) bad("env_info" + ti + " must be a string");
      t.env_info = env_info[i].get<std::string>();
    }
    if (opts.env_info_in_system && !t.env_info.empty()) {
      const std::string line_text = system_text_for_env_info(t.env_info);
      if (!prompt.empty() && prompt[0]["role"] == "system")
        prompt[0]["content"] = line_text + "\n" + prompt[0]["content"].get<std::string>();
      else
        prompt.insert(prompt.begin(), json{{"role", "system"}, {"content", line_text}});
    }
    t.prompt = std::move(prompt);
    for (const auto& m : seg) history.push_back(m);
    if (!turn_type.is_null()) t.turn_type = parse_turn_type(turn_type[i], "turn_type" + ti);
    if (!subtypes.is_null()) {
      const json& s = subtypes[i];
      if (s.is_string()) {
        if (!s.get<std::string>().empty() && s.get<std::string>() != "none") t.turn_subtypes.push_back(s.get<std::string>());
      } else if (s.is_array()) {
        for (const auto& e : s)
          if (e.is_string() && e.get<std::string>() != "none") t.turn_subtypes.push_back(e.get<std::string>());
      } else if (!s.is_null()) {
        bad("turn_subtypes" + ti + " must be a string or a list of strings");
      }
    }
    c.tasks.push_back(std::move(t));
  }
  return c;
}

CaseFile read_cases(const std::string& path, const CaseReadOptions& opts) {
  // stat() first: opening a FIFO with no writer blocks, and a device may never end.
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
    throw core::UserError("case file '" + path + "' is not a regular file (a directory, FIFO, device or socket)");
  std::ifstream in(path);
  if (!in) throw core::UserError("cannot read case file '" + path + "'");
  CaseFile out;
  std::string text;
  int line = 0;
  std::map<std::string, int> first_line;  // case id -> line
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      out.problems.push_back({line, "", std::string("not JSON: ") + e.what()});
      continue;
    }
    try {
      Case c = parse_case(j, line, opts);
      // Metrics and pass^k group results by id: a repeated id would merge two dialogues.
      const auto dup = first_line.find(c.id);
      if (dup != first_line.end()) throw std::invalid_argument("id repeats the case on line " + std::to_string(dup->second));
      first_line[c.id] = line;
      out.cases.push_back(std::move(c));
    } catch (const std::exception& e) {
      std::string id;
      if (j.is_object() && j.contains("id")) id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
      out.problems.push_back({line, id, e.what()});
    }
  }
  if (in.bad()) throw core::UserError("error while reading case file '" + path + "'");
  return out;
}

}  // namespace rlpp::harness

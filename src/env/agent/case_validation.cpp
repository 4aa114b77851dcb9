#include "rlpp/env/agent/case_validation.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "rlpp/core/error.h"
#include "rlpp/env/agent/case_format.h"
#include "rlpp/env/agent/schema_check.h"
#include "rlpp/nn/tokenizer/tool_calls.h"

namespace rlpp::env::agent {

using json = nlohmann::json;

namespace {

// Whether the dependency graph of one task (edges node -> dependency) has a cycle (iterative DFS
// colouring: 0 unvisited, 1 on the stack, 2 finished). Only valid indices are followed.
bool has_cycle(const std::vector<std::vector<int>>& deps) {
  std::vector<int> colour(deps.size(), 0);
  for (size_t s = 0; s < deps.size(); ++s) {
    if (colour[s]) continue;
    std::vector<std::pair<int, size_t>> stack = {{static_cast<int>(s), 0}};
    colour[s] = 1;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      if (next < deps[v].size()) {
        const int u = deps[v][next++];
        if (colour[u] == 1) return true;
        if (colour[u] == 0) {
          colour[u] = 1;
          stack.push_back({u, 0});
        }
      } else {
        colour[v] = 2;
        stack.pop_back();
      }
    }
  }
  return false;
}

void check_task(const json& nodes, const std::string& type, const std::map<std::string, const json*>& tools,
                const std::string& where, std::vector<std::string>* out) {
  auto bad = [&](const std::string& w, const std::string& m) { out->push_back(w + ": " + m); };
  if (!nodes.is_array() || nodes.empty()) return bad(where, "must be a non-empty array of golden nodes");
  std::vector<std::vector<int>> deps(nodes.size());
  int tool_calls = 0, asks = 0, answers = 0;
  std::string answer_type;
  bool structure_ok = true;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "]";
    const json& n = nodes[i];
    if (!n.is_object()) {
      bad(w, "must be an object");
      structure_ok = false;
      continue;
    }
    if (!n.contains("idx") || !n.at("idx").is_number_integer() || n.at("idx").get<int64_t>() != static_cast<int64_t>(i))
      bad(w, "idx must equal the node's position " + std::to_string(i));
    if (!n.contains("action") || !n.at("action").is_object() || !n.at("action").contains("name") ||
        !n.at("action").at("name").is_string()) {
      bad(w, "action must be an object with a string name");
      structure_ok = false;
      continue;
    }
    const json& action = n.at("action");
    const std::string name = action.at("name").get<std::string>();
    const json args = action.contains("arguments") ? action.at("arguments") : json::object();
    if (!n.contains("dependency_list") || !n.at("dependency_list").is_array()) {
      bad(w, "dependency_list must be an array");
      structure_ok = false;
    } else {
      for (const json& d : n.at("dependency_list")) {
        if (!d.is_number_integer()) {
          bad(w, "dependency " + d.dump() + " is not an integer");
          continue;
        }
        const int64_t k = d.get<int64_t>();
        if (k < 0 || k >= static_cast<int64_t>(nodes.size())) bad(w, "dependency " + std::to_string(k) + " does not exist");
        else if (k == static_cast<int64_t>(i)) bad(w, "depends on itself");
        else deps[i].push_back(static_cast<int>(k));
      }
    }
    if (name == kAskUser) {
      ++asks;
      if (!n.contains("user_input") || !n.at("user_input").is_string() || n.at("user_input").get<std::string>().empty())
        bad(w, "ask_user node needs a non-empty user_input string");
    } else if (name == kPrepareToAnswer) {
      ++answers;
      answer_type = args.is_object() ? args.value("answer_type", std::string()) : std::string();
      if (answer_type != "tool" && answer_type != "chat") bad(w, "prepare_to_answer needs answer_type \"tool\" or \"chat\"");
      if (i + 1 != nodes.size()) bad(w, "prepare_to_answer must be the task's last node");
    } else {
      ++tool_calls;
      auto it = tools.find(name);
      if (it == tools.end()) bad(w, "action '" + name + "' is not an offered tool");
      else
        for (const auto& p : check_arguments(*it->second, args)) bad(w, "action '" + name + "': " + p);
      if (!n.contains("observation") || !n.at("observation").is_string() || n.at("observation").get<std::string>().empty())
        bad(w, "tool node '" + name + "' has no observation");
    }
  }
  if (structure_ok && has_cycle(deps)) bad(where, "the dependency graph has a cycle");
  if (answers != 1) bad(where, "needs exactly one prepare_to_answer node, has " + std::to_string(answers));
  if (type == "chat" && (tool_calls != 0 || (answers == 1 && answer_type != "chat")))
    bad(where, "a chat task has no tool calls and answer_type \"chat\"");
  if (type != "chat" && answers == 1 && answer_type != "tool") bad(where, "a " + type + " task needs answer_type \"tool\"");
  if (type == "single_tool" && tool_calls != 1) bad(where, "a single_tool task needs exactly one tool call, has " + std::to_string(tool_calls));
  if (type == "multi_tool" && tool_calls < 2) bad(where, "a multi_tool task needs at least two tool calls, has " + std::to_string(tool_calls));
  if (type == "clarify" && asks == 0) bad(where, "a clarify task needs an ask_user_for_required_parameters node");
  if (type == "clarify" && tool_calls == 0) bad(where, "a clarify task needs a tool call after the question");
}

}  // namespace

std::vector<std::string> validate_case(const json& c) {
  std::vector<std::string> out;
  if (!c.is_object()) return {"a case must be a JSON object"};
  auto need = [&](const char* key, bool ok, const char* what) {
    if (!c.contains(key)) out.push_back(std::string("missing field '") + key + "'");
    else if (!ok) out.push_back(std::string("field '") + key + "' must be " + what);
  };
  need("id", c.contains("id") && (c.at("id").is_string() || c.at("id").is_number()), "a string");
  need("type", c.contains("type") && c.at("type").is_array(), "an array");
  need("task", c.contains("task") && c.at("task").is_array(), "an array");
  need("messages", c.contains("messages") && c.at("messages").is_array(), "an array");
  need("tools", c.contains("tools") && c.at("tools").is_array(), "an array");
  need("answer_list", c.contains("answer_list") && c.at("answer_list").is_array(), "an array");
  if (!out.empty()) return out;

  const size_t n = c.at("type").size();
  if (n == 0) out.push_back("the case has no tasks");
  auto same_length = [&](const char* key, size_t len) {
    if (len != n) out.push_back("'" + std::string(key) + "' has " + std::to_string(len) + " entries for " + std::to_string(n) + " task types");
  };
  same_length("task", c.at("task").size());
  same_length("answer_list", c.at("answer_list").size());
  for (const char* key : {"task_ids", "turn_type", "turn_subtypes"})
    if (c.contains(key)) {
      if (!c.at(key).is_array()) out.push_back(std::string("field '") + key + "' must be an array");
      else same_length(key, c.at(key).size());
    }
  const auto segments = message_segments(c.at("messages"));
  same_length("messages segments", segments.size());
  // each segment states its task in a user message (at task_ids[i], 0 when absent)
  for (size_t t = 0; t < segments.size() && t < n; ++t) {
    size_t at = 0;
    if (c.contains("task_ids") && c.at("task_ids").is_array() && t < c.at("task_ids").size()) {
      const json& id = c.at("task_ids")[t];
      at = id.is_number_integer() && id.get<int64_t>() >= 0 ? id.get<size_t>() : segments[t].size();
    }
    if (at >= segments[t].size() || !segments[t][at].is_object() || segments[t][at].value("role", json()) != "user" ||
        !segments[t][at].contains("content") || !segments[t][at].at("content").is_string())
      out.push_back("messages segment " + std::to_string(t) + ": no user message with string content at task_ids[" +
                    std::to_string(t) + "]");
  }

  std::map<std::string, const json*> tools;
  try {
    nn::validate_tools(c.at("tools"));
    for (const json& t : c.at("tools")) {
      const std::string name = t.at("function").at("name");
      if (tools.count(name)) out.push_back("tools: '" + name + "' is offered twice");
      tools[name] = &t;
    }
  } catch (const core::UserError& e) {
    out.push_back(std::string("tools: ") + e.what());
  }

  for (size_t t = 0; t < n; ++t) {
    const json& type = c.at("type")[t];
    std::string tn = type.is_string() ? type.get<std::string>() : "";
    if (tn != "single_tool" && tn != "multi_tool" && tn != "clarify" && tn != "chat") {
      out.push_back("type[" + std::to_string(t) + "]: unknown task type " + type.dump() +
                    " (valid: single_tool, multi_tool, clarify, chat)");
      tn.clear();
    }
    if (t < c.at("answer_list").size())
      check_task(c.at("answer_list")[t], tn, tools, "answer_list[" + std::to_string(t) + "]", &out);
  }
  return out;
}

CaseFileReader::CaseFileReader(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path_, ec);  // stat() only: a FIFO is not opened
  if (!fs::exists(st)) throw core::UserError("cannot read case file " + path_ + ": no such file");
  if (fs::is_directory(st)) throw core::UserError("case file " + path_ + " is a directory, not a JSONL file");
  if (!fs::is_regular_file(st))
    throw core::UserError("case file " + path_ + " is not a regular file (a FIFO, device or socket)");
  in_.open(path_, std::ios::binary);
  if (!in_) throw core::UserError("cannot read case file " + path_);
}

bool CaseFileReader::next(std::string* line) {
  line->clear();
  std::streambuf* buf = in_.rdbuf();
  for (int c = buf->sbumpc();; c = buf->sbumpc()) {
    if (c == std::char_traits<char>::eof()) {
      if (line->empty()) return false;
      break;
    }
    if (c == '\n') break;
    if (line->size() >= kMaxCaseLineBytes)
      throw core::UserError(path_ + ":" + std::to_string(line_ + 1) + ": line longer than " +
                            std::to_string(kMaxCaseLineBytes >> 20) + " MiB (not a JSONL case file?)");
    line->push_back(static_cast<char>(c));
  }
  ++line_;
  return true;
}

std::vector<std::string> validate_case_file(const std::string& path, int64_t* num_cases, const std::atomic<bool>* stop) {
  CaseFileReader in(path);
  std::vector<std::string> report;
  std::string line;
  int64_t cases = 0;
  while ((stop == nullptr || !stop->load()) && in.next(&line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++cases;
    const std::string where = path + ":" + std::to_string(in.line_number()) + ": ";
    const json c = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (c.is_discarded()) {
      report.push_back(where + "not valid JSON");
      continue;
    }
    const std::string id = c.is_object() && c.contains("id") ? (c.at("id").is_string() ? c.at("id").get<std::string>() : c.at("id").dump()) : "?";
    for (const auto& p : validate_case(c)) report.push_back(where + id + ": " + p);
  }
  if (num_cases) *num_cases = cases;
  return report;
}

}  // namespace rlpp::env::agent

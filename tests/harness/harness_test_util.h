// Helpers shared by the harness tests: hand-built golden DAGs and the fixture case files.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "rlpp/harness/case.h"

namespace rlpp::harness::test {

inline std::string fixture(const std::string& name) {
  return std::string(RLPP_SOURCE_DIR) + "/tests/fixtures/harness/" + name;
}

// A tool node named `name` at position `idx` depending on positions `deps`.
inline GoldenNode tool(int idx, std::string name, std::vector<int> deps = {}) {
  GoldenNode n;
  n.idx = idx;
  n.kind = NodeKind::kTool;
  n.name = std::move(name);
  n.arguments = nlohmann::json::object();
  n.observation = "ok";
  n.deps = std::move(deps);
  return n;
}

inline GoldenNode prepare(int idx, std::vector<int> deps, std::string answer_type = "tool") {
  GoldenNode n;
  n.idx = idx;
  n.kind = NodeKind::kPrepareToAnswer;
  n.name = std::string(kPrepareToAnswerAction);
  n.arguments = {{"answer_type", answer_type}};
  n.answer_type = std::move(answer_type);
  n.deps = std::move(deps);
  return n;
}

inline GoldenNode ask_user(int idx, std::string user_input) {
  GoldenNode n;
  n.idx = idx;
  n.kind = NodeKind::kAskUser;
  n.name = std::string(kAskUserAction);
  n.arguments = nlohmann::json::object();
  n.user_input = std::move(user_input);
  return n;
}

}  // namespace rlpp::harness::test

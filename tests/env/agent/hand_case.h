// A case written out by hand (not by the generator), shared by the agent tests:
//   task 0 multi_tool  get_weather(Paris) || (search_contacts(Alice) -> get_contact(C101))
//   task 1 clarify     ask for the date -> "On 2026-03-06." -> get_weather(Oslo, 2026-03-06)
//   task 2 chat        plain answer
#pragma once
#include <nlohmann/json.hpp>

#include "rlpp/env/agent/tool_world.h"

namespace rlpp::env::agent::testing {

inline nlohmann::json hand_case() {
  using json = nlohmann::json;
  json tools = json::array();
  for (const char* name : {"search_contacts", "get_contact", "get_order", "get_weather"}) tools.push_back(*find_tool_schema(name));
  auto node = [](int idx, const char* name, json args, const char* obs, json deps) {
    return json{{"idx", idx}, {"action", {{"name", name}, {"arguments", args}}}, {"observation", obs}, {"dependency_list", deps}};
  };
  json ask = node(0, "ask_user_for_required_parameters", {{"missing_parameters", {"date"}}}, "", json::array());
  ask["user_input"] = "On 2026-03-06.";
  return json{
      {"id", "hand-1"},
      {"type", {"multi_tool", "clarify", "chat"}},
      {"task", {"Weather in Paris on 2026-03-05, and Alice's email?", "What's the weather in Oslo?", "Thanks!"}},
      {"task_ids", {0, 0, 0}},
      {"messages",
       {{{"role", "user"}, {"content", "Weather in Paris on 2026-03-05, and Alice's email?"}},
        {{"role", "assistant"}, {"content", "Paris: sunny. Alice: alice@example.com."}},
        "=====",
        {{"role", "user"}, {"content", "What's the weather in Oslo?"}},
        {{"role", "assistant"}, {"content", "For which date?"}},
        {{"role", "user"}, {"content", "On 2026-03-06."}},
        {{"role", "assistant"}, {"content", "Oslo: rain."}},
        "=====",
        {{"role", "user"}, {"content", "Thanks!"}},
        {{"role", "assistant"}, {"content", "You're welcome!"}}}},
      {"tools", tools},
      {"answer_list",
       {{node(0, "get_weather", {{"city", "Paris"}, {"date", "2026-03-05"}}, "{\"forecast\":\"sunny\"}", json::array()),
         node(1, "search_contacts", {{"name", "Alice"}}, "{\"contacts\":[]}", json::array()),
         node(2, "get_contact", {{"contact_id", "C101"}}, "{\"email\":\"alice@example.com\"}", {1}),
         node(3, "prepare_to_answer", {{"answer_type", "tool"}}, "", {0, 2})},
        {ask, node(1, "get_weather", {{"city", "Oslo"}, {"date", "2026-03-06"}}, "{\"forecast\":\"rain\"}", {0}),
         node(2, "prepare_to_answer", {{"answer_type", "tool"}}, "", {1})},
        {node(0, "prepare_to_answer", {{"answer_type", "chat"}}, "", json::array())}}},
      {"env_info", "2026-03-04 09:00:00 Wednesday"},
      {"turn_type", {false, false, false}},
      {"turn_subtypes", {"none", "none", "none"}},
      {"world_seed", 5u},
  };
}

}  // namespace rlpp::env::agent::testing

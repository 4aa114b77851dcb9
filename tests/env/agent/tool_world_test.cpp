#include "rlpp/env/agent/tool_world.h"

#include <gtest/gtest.h>

#include <set>

#include "rlpp/nn/tokenizer/tool_calls.h"

namespace rlpp::env::agent {
namespace {

using json = nlohmann::json;

TEST(ToolWorld, DatesAgainstKnownCalendarFacts) {
  EXPECT_EQ(days_from_date("1970-01-01"), 0);
  EXPECT_EQ(days_from_date("2000-03-01"), 10957 + 31 + 29);  // 2000-01-01 is day 10957; 2000 is a leap year
  EXPECT_EQ(date_from_days(10957), "2000-01-01");
  EXPECT_EQ(weekday_name("2026-03-02"), "Monday");  // 2026-01-01 was a Thursday
  EXPECT_EQ(weekday_name("1970-01-01"), "Thursday");
  EXPECT_EQ(add_days("2026-02-27", 2), "2026-03-01");  // 2026 is not a leap year
  EXPECT_EQ(add_days("2024-02-28", 1), "2024-02-29");
  EXPECT_EQ(days_from_date("2026-02-30"), -1);
  EXPECT_EQ(days_from_date("2026-3-5"), -1);
  EXPECT_EQ(days_from_date("tomorrow"), -1);
}

TEST(ToolWorld, SchemasAreValidOpenAiToolsWithDistinctNames) {
  const json& tools = tool_schemas();
  EXPECT_NO_THROW(nn::validate_tools(tools));
  std::set<std::string> names;
  for (const json& t : tools) names.insert(t.at("function").at("name").get<std::string>());
  EXPECT_EQ(names.size(), tools.size());
  EXPECT_GE(tools.size(), 10u);
  EXPECT_LE(tools.size(), 16u);
  EXPECT_EQ(find_tool_schema("nope"), nullptr);
}

TEST(ToolWorld, SameSeedSameWorld) {
  const WorldState a = make_world(42), b = make_world(42), c = make_world(43);
  EXPECT_EQ(a.today, b.today);
  ASSERT_EQ(a.contacts.size(), 8u);
  for (size_t i = 0; i < a.contacts.size(); ++i) EXPECT_EQ(a.contacts[i].email, b.contacts[i].email);
  bool differs = a.today != c.today;
  for (size_t i = 0; i < a.contacts.size(); ++i) differs = differs || a.contacts[i].name != c.contacts[i].name;
  EXPECT_TRUE(differs);
  std::set<std::string> first;
  for (const auto& ct : a.contacts) first.insert(ct.name.substr(0, ct.name.find(' ')));
  EXPECT_EQ(first.size(), 8u);  // a first name finds one contact
}

TEST(ToolWorld, ErrorsAreObservationsAndLeaveStateAlone) {
  WorldState w = make_world(1);
  auto err = [](const std::string& obs) { return json::parse(obs).value("error", std::string()); };
  EXPECT_EQ(err(execute_tool(&w, "teleport", json::object())), "unknown tool 'teleport'");
  EXPECT_EQ(err(execute_tool(&w, "get_order", {{"order_id", "O999"}})), "no order with id 'O999'");
  EXPECT_EQ(err(execute_tool(&w, "get_order", {{"order_id", 301}})),
            "invalid arguments for get_order: argument 'order_id' must be string, got integer");
  EXPECT_EQ(err(execute_tool(&w, "get_order", json::object())), "invalid arguments for get_order: missing required argument 'order_id'");
  EXPECT_EQ(err(execute_tool(&w, "list_events", {{"date", "2026-13-01"}})), "date must be YYYY-MM-DD, got '2026-13-01'");
  EXPECT_EQ(err(execute_tool(&w, "get_weather", {{"city", "Atlantis"}, {"date", w.today}})), "no forecast for city 'Atlantis'");
  EXPECT_EQ(err(execute_tool(&w, "send_email", {{"to", "bob"}, {"subject", "s"}, {"body", "b"}})), "'bob' is not an email address");
  const size_t events = w.events.size();
  EXPECT_FALSE(err(execute_tool(&w, "create_event", {{"title", "x"}, {"date", w.today}, {"time", "25:00"}})).empty());
  EXPECT_EQ(w.events.size(), events);
  for (auto& o : w.orders)
    if (o.status != "pending") {
      const std::string before = o.status;
      EXPECT_EQ(err(execute_tool(&w, "cancel_order", {{"order_id", o.id}})),
                "order " + o.id + " is " + before + " and cannot be cancelled");
      EXPECT_EQ(o.status, before);
    }
}

TEST(ToolWorld, CallsChangeTheState) {
  WorldState w = make_world(3);
  const json created = json::parse(execute_tool(&w, "create_event", {{"title", "Dentist"}, {"date", w.today}, {"time", "08:15"}}));
  EXPECT_EQ(created.at("event_id"), "E207");
  const json day = json::parse(execute_tool(&w, "list_events", {{"date", w.today}}));
  bool listed = false;
  for (const json& e : day.at("events")) listed = listed || (e.at("event_id") == "E207" && e.at("time") == "08:15");
  EXPECT_TRUE(listed);
  EXPECT_EQ(json::parse(execute_tool(&w, "cancel_event", {{"event_id", "E207"}})).at("status"), "cancelled");
  EXPECT_TRUE(json::parse(execute_tool(&w, "get_event", {{"event_id", "E207"}})).contains("error"));

  const Contact c = w.contacts[2];
  const json found = json::parse(execute_tool(&w, "search_contacts", {{"name", c.name.substr(0, c.name.find(' '))}}));
  ASSERT_EQ(found.at("contacts").size(), 1u);
  EXPECT_EQ(found.at("contacts")[0].at("contact_id"), c.id);
  const json weather1 = json::parse(execute_tool(&w, "get_weather", {{"city", "oslo"}, {"date", "2026-03-05"}}));
  const json weather2 = json::parse(execute_tool(&w, "get_weather", {{"city", "Oslo"}, {"date", "2026-03-05"}}));
  EXPECT_EQ(weather1, weather2);  // a pure function of (city, date)
  EXPECT_EQ(weather1.at("city"), "Oslo");
}

}  // namespace
}  // namespace rlpp::env::agent

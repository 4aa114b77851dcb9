// The tool world: a small office domain (contacts, calendar, orders, notes, e-mail, weather) whose
// state is generated deterministically from a seed, with 14 typed tools described by OpenAI
// function schemas. Calls are executed against the state (creating an event or cancelling an order
// changes it); every outcome, errors included, is a JSON string observation — a bad call never
// throws, it returns {"error": "..."} so that an agent sees what went wrong, as a real API would.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::env::agent {

struct Contact {
  std::string id;  // "C101"
  std::string name, email, phone, city;
};

struct Event {
  std::string id;    // "E201"
  std::string title;
  std::string date;  // YYYY-MM-DD
  std::string time;  // HH:MM
  int64_t duration_min = 60;
  std::vector<std::string> attendee_ids;
  bool cancelled = false;
};

struct Order {
  std::string id;  // "O301"
  std::string item;
  int64_t quantity = 1;
  std::string status;  // pending | shipped | delivered | cancelled
  std::string contact_id;
};

struct Note {
  std::string id;  // "N401"
  std::string title, text;
};

struct WorldState {
  std::string today;  // YYYY-MM-DD, the dialogue's current date
  std::vector<Contact> contacts;
  std::vector<Event> events;
  std::vector<Order> orders;
  std::vector<Note> notes;
  std::vector<nlohmann::json> sent_emails;  // {message_id, to, subject, body}
  int64_t next_event = 0, next_note = 0, next_message = 0;
};

// Every tool, as OpenAI function tools, in a fixed order.
const nlohmann::json& tool_schemas();
// The schema of tool `name`, or nullptr when there is no such tool.
const nlohmann::json* find_tool_schema(const std::string& name);
// The cities get_weather knows.
const std::vector<std::string>& weather_cities();

// A fresh world: 8 contacts (distinct first names), 6 events in the coming week, 8 orders, 3 notes;
// `today` between 2026-03-02 and 2026-03-29. Same seed, same world.
WorldState make_world(uint64_t seed);

// Executes tool `name` on `world`; returns the observation (JSON text, keys sorted). Unknown tools,
// schema-invalid arguments (check_arguments), malformed dates/times and unknown ids give
// {"error": "..."}; the state is changed only by a successful call.
std::string execute_tool(WorldState* world, const std::string& name, const nlohmann::json& args);

// Date helpers (proleptic Gregorian calendar): days since 1970-01-01 <-> "YYYY-MM-DD".
int64_t days_from_date(const std::string& ymd);  // -1 when `ymd` is not a valid date
std::string date_from_days(int64_t days);
std::string weekday_name(const std::string& ymd);  // "Monday" ...
std::string add_days(const std::string& ymd, int64_t n);

}  // namespace rlpp::env::agent

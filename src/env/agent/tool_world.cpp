#include "rlpp/env/agent/tool_world.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "rlpp/core/rng.h"
#include "rlpp/env/agent/schema_check.h"

namespace rlpp::env::agent {

using json = nlohmann::json;

namespace {

json param(const char* type, const char* description) { return json{{"type", type}, {"description", description}}; }

json tool(const char* name, const char* description, json properties, std::vector<std::string> required) {
  return json{{"type", "function"},
              {"function",
               {{"name", name},
                {"description", description},
                {"parameters", {{"type", "object"}, {"properties", std::move(properties)}, {"required", required}}}}}};
}

json build_schemas() {
  json status = param("string", "order status");
  status["enum"] = {"pending", "shipped", "delivered", "cancelled"};
  json ids = param("array", "contact ids of the attendees");
  ids["items"] = {{"type", "string"}};
  const json date = param("string", "date, YYYY-MM-DD");
  const json time = param("string", "start time, HH:MM (24 h)");
  return json::array({
      tool("search_contacts", "Find contacts whose name contains the text.", {{"name", param("string", "name or part of it")}}, {"name"}),
      tool("get_contact", "Details of a contact: email, phone, city.", {{"contact_id", param("string", "e.g. C101")}}, {"contact_id"}),
      tool("list_events", "Calendar events on a date.", {{"date", date}}, {"date"}),
      tool("get_event", "Details of a calendar event.", {{"event_id", param("string", "e.g. E201")}}, {"event_id"}),
      tool("create_event", "Add an event to the calendar.",
           {{"title", param("string", "event title")},
            {"date", date},
            {"time", time},
            {"duration_min", param("integer", "length in minutes (default 60)")},
            {"attendee_ids", ids}},
           {"title", "date", "time"}),
      tool("reschedule_event", "Move an event to a new date and time.",
           {{"event_id", param("string", "e.g. E201")}, {"date", date}, {"time", time}}, {"event_id", "date", "time"}),
      tool("cancel_event", "Cancel a calendar event.", {{"event_id", param("string", "e.g. E201")}}, {"event_id"}),
      tool("get_order", "Details of an order: item, quantity, status, customer.", {{"order_id", param("string", "e.g. O301")}},
           {"order_id"}),
      tool("list_orders", "Orders placed by a contact, optionally only those with a status.",
           {{"contact_id", param("string", "e.g. C101")}, {"status", status}}, {"contact_id"}),
      tool("cancel_order", "Cancel an order that has not shipped yet.", {{"order_id", param("string", "e.g. O301")}},
           {"order_id"}),
      tool("send_email", "Send an email.",
           {{"to", param("string", "recipient address")}, {"subject", param("string", "subject line")},
            {"body", param("string", "message text")}},
           {"to", "subject", "body"}),
      tool("get_weather", "Weather forecast for a city on a date.", {{"city", param("string", "city name")}, {"date", date}},
           {"city", "date"}),
      tool("create_note", "Save a note.", {{"title", param("string", "note title")}, {"text", param("string", "note text")}},
           {"title", "text"}),
      tool("search_notes", "Find notes whose title or text contains the keyword.", {{"keyword", param("string", "text to find")}},
           {"keyword"}),
  });
}

const std::vector<std::string> kFirst = {"Alice", "Bruno", "Chen",  "Dana",  "Emil",  "Fatima", "Goran", "Hana",
                                         "Ivan",  "Julia", "Kofi",  "Lena",  "Marco", "Nadia",  "Omar",  "Priya"};
const std::vector<std::string> kLast = {"Moreau", "Silva", "Okafor", "Novak", "Berg",  "Rossi",
                                        "Tanaka", "Weber", "Costa",  "Haddad", "Lund", "Petrov"};
const std::vector<std::string> kCities = {"Paris", "Lisbon", "Berlin", "Oslo", "Madrid", "Vienna", "Dublin", "Prague", "Rome", "Warsaw"};
const std::vector<std::string> kItems = {"desk lamp", "office chair", "monitor", "keyboard", "headset",
                                         "webcam",    "notebook",     "printer", "mouse",    "backpack"};
const std::vector<std::string> kEventTitles = {"Team sync", "Budget review", "Design review", "Lunch", "Client call",
                                               "Planning",  "Retro",         "Interview",     "Demo",  "One-on-one"};
const std::vector<std::string> kForecasts = {"sunny", "cloudy", "rain", "windy", "snow"};
const std::vector<std::string> kTimes = {"09:00", "10:00", "11:30", "13:00", "14:00", "15:30", "16:00"};

template <class T>
const T& pick(core::Rng& rng, const std::vector<T>& v) {
  return v[rng.below(v.size())];
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool contains_ci(const std::string& hay, const std::string& needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

// FNV-1a: a stable hash (std::hash may differ between library versions), for the weather.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

bool valid_time(const std::string& t) {
  return t.size() == 5 && std::isdigit(static_cast<unsigned char>(t[0])) && std::isdigit(static_cast<unsigned char>(t[1])) &&
         t[2] == ':' && std::isdigit(static_cast<unsigned char>(t[3])) && std::isdigit(static_cast<unsigned char>(t[4])) &&
         std::stoi(t.substr(0, 2)) < 24 && std::stoi(t.substr(3, 2)) < 60;
}

std::string error(const std::string& message) { return json{{"error", message}}.dump(); }

json order_json(const Order& o) {
  return {{"order_id", o.id}, {"item", o.item}, {"quantity", o.quantity}, {"status", o.status}, {"contact_id", o.contact_id}};
}

template <class T>
T* find_by_id(std::vector<T>& v, const std::string& id) {
  for (auto& x : v)
    if (x.id == id) return &x;
  return nullptr;
}

}  // namespace

const json& tool_schemas() {
  static const json kSchemas = build_schemas();
  return kSchemas;
}

const json* find_tool_schema(const std::string& name) {
  for (const json& t : tool_schemas())
    if (t.at("function").at("name") == name) return &t;
  return nullptr;
}

const std::vector<std::string>& weather_cities() { return kCities; }

// Days since 1970-01-01 from a civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
int64_t days_from_date(const std::string& ymd) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (ymd.size() != 10 || ymd[4] != '-' || ymd[7] != '-' || std::sscanf(ymd.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
    return -1;
  if (m < 1 || m > 12 || d < 1 || d > 31) return -1;
  const int64_t yy = y - (m <= 2);
  const int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  const int64_t yoe = yy - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return date_from_days(days) == ymd ? days : -1;  // rejects 2026-02-30
}

std::string date_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(y), static_cast<int>(m), static_cast<int>(d));
  return buf;
}

std::string weekday_name(const std::string& ymd) {
  static const char* kNames[] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"};
  const int64_t days = days_from_date(ymd);
  return days < 0 ? "" : kNames[((days % 7) + 7) % 7];  // 1970-01-01 was a Thursday
}

std::string add_days(const std::string& ymd, int64_t n) { return date_from_days(days_from_date(ymd) + n); }

WorldState make_world(uint64_t seed) {
  core::Rng rng(seed ^ 0x746f6f6c776f726cULL);
  WorldState w;
  w.today = add_days("2026-03-02", static_cast<int64_t>(rng.below(28)));
  std::vector<std::string> first = kFirst;
  rng.shuffle(first.data(), static_cast<int64_t>(first.size()));
  for (int i = 0; i < 8; ++i) {
    Contact c;
    c.id = "C" + std::to_string(101 + i);
    const std::string last = pick(rng, kLast);
    c.name = first[i] + " " + last;
    c.email = lower(first[i]) + "." + lower(last) + "@example.com";
    char phone[32];
    std::snprintf(phone, sizeof phone, "+1-555-%04d", static_cast<int>(rng.below(10000)));
    c.phone = phone;
    c.city = pick(rng, kCities);
    w.contacts.push_back(c);
  }
  std::vector<std::string> titles = kEventTitles;
  rng.shuffle(titles.data(), static_cast<int64_t>(titles.size()));
  for (int i = 0; i < 6; ++i) {
    Event e;
    e.id = "E" + std::to_string(201 + i);
    e.title = titles[i];  // distinct titles: "the Budget review" names one event
    e.date = add_days(w.today, static_cast<int64_t>(rng.below(7)));
    e.time = pick(rng, kTimes);
    e.duration_min = 30 * (1 + static_cast<int64_t>(rng.below(3)));
    e.attendee_ids = {w.contacts[rng.below(w.contacts.size())].id};
    w.events.push_back(e);
  }
  static const std::vector<std::string> kStatuses = {"pending", "pending", "shipped", "delivered"};
  for (int i = 0; i < 8; ++i) {
    Order o;
    o.id = "O" + std::to_string(301 + i);
    o.item = pick(rng, kItems);
    o.quantity = 1 + static_cast<int64_t>(rng.below(4));
    o.status = pick(rng, kStatuses);
    o.contact_id = w.contacts[rng.below(w.contacts.size())].id;
    w.orders.push_back(o);
  }
  const std::vector<std::pair<std::string, std::string>> kNotes = {
      {"Wifi", "The guest password is on the fridge"}, {"Groceries", "Buy milk, eggs and coffee"},
      {"Parking", "Level 2, spot 14"}, {"Ideas", "Try the new design tool"}};
  for (int i = 0; i < 3; ++i) w.notes.push_back({"N" + std::to_string(401 + i), kNotes[i].first, kNotes[i].second});
  w.next_event = 207;
  w.next_note = 404;
  w.next_message = 501;
  return w;
}

std::string execute_tool(WorldState* w, const std::string& name, const json& args) {
  const json* schema = find_tool_schema(name);
  if (schema == nullptr) return error("unknown tool '" + name + "'");
  const auto problems = check_arguments(*schema, args);
  if (!problems.empty()) {
    std::string msg = "invalid arguments for " + name + ":";
    for (const auto& p : problems) msg += " " + p + ";";
    msg.pop_back();
    return error(msg);
  }
  auto str = [&](const char* key) { return args.value(key, std::string()); };
  auto check_date = [&](const std::string& d) { return days_from_date(d) >= 0; };

  if (name == "search_contacts") {
    json found = json::array();
    for (const auto& c : w->contacts)
      if (!str("name").empty() && contains_ci(c.name, str("name"))) found.push_back({{"contact_id", c.id}, {"name", c.name}});
    return json{{"contacts", found}}.dump();
  }
  if (name == "get_contact") {
    const Contact* c = find_by_id(w->contacts, str("contact_id"));
    if (!c) return error("no contact with id '" + str("contact_id") + "'");
    return json{{"contact_id", c->id}, {"name", c->name}, {"email", c->email}, {"phone", c->phone}, {"city", c->city}}.dump();
  }
  if (name == "list_events") {
    if (!check_date(str("date"))) return error("date must be YYYY-MM-DD, got '" + str("date") + "'");
    json found = json::array();
    for (const auto& e : w->events)
      if (!e.cancelled && e.date == str("date")) found.push_back({{"event_id", e.id}, {"title", e.title}, {"time", e.time}});
    return json{{"date", str("date")}, {"events", found}}.dump();
  }
  if (name == "get_event") {
    const Event* e = find_by_id(w->events, str("event_id"));
    if (!e || e->cancelled) return error("no event with id '" + str("event_id") + "'");
    return json{{"event_id", e->id}, {"title", e->title}, {"date", e->date}, {"time", e->time},
                {"duration_min", e->duration_min}, {"attendee_ids", e->attendee_ids}}
        .dump();
  }
  if (name == "create_event") {
    if (!check_date(str("date"))) return error("date must be YYYY-MM-DD, got '" + str("date") + "'");
    if (!valid_time(str("time"))) return error("time must be HH:MM, got '" + str("time") + "'");
    Event e;
    e.title = str("title");
    e.date = str("date");
    e.time = str("time");
    e.duration_min = args.contains("duration_min") ? static_cast<int64_t>(args.at("duration_min").get<double>()) : 60;
    if (e.duration_min <= 0) return error("duration_min must be positive");
    if (args.contains("attendee_ids"))
      for (const json& id : args.at("attendee_ids")) {
        if (!find_by_id(w->contacts, id.get<std::string>())) return error("no contact with id '" + id.get<std::string>() + "'");
        e.attendee_ids.push_back(id.get<std::string>());
      }
    e.id = "E" + std::to_string(w->next_event++);
    w->events.push_back(e);
    return json{{"event_id", e.id}, {"status", "created"}}.dump();
  }
  if (name == "reschedule_event") {
    Event* e = find_by_id(w->events, str("event_id"));
    if (!e || e->cancelled) return error("no event with id '" + str("event_id") + "'");
    if (!check_date(str("date"))) return error("date must be YYYY-MM-DD, got '" + str("date") + "'");
    if (!valid_time(str("time"))) return error("time must be HH:MM, got '" + str("time") + "'");
    e->date = str("date");
    e->time = str("time");
    return json{{"event_id", e->id}, {"date", e->date}, {"time", e->time}, {"status", "rescheduled"}}.dump();
  }
  if (name == "cancel_event") {
    Event* e = find_by_id(w->events, str("event_id"));
    if (!e || e->cancelled) return error("no event with id '" + str("event_id") + "'");
    e->cancelled = true;
    return json{{"event_id", e->id}, {"status", "cancelled"}}.dump();
  }
  if (name == "get_order") {
    const Order* o = find_by_id(w->orders, str("order_id"));
    if (!o) return error("no order with id '" + str("order_id") + "'");
    return order_json(*o).dump();
  }
  if (name == "list_orders") {
    if (!find_by_id(w->contacts, str("contact_id"))) return error("no contact with id '" + str("contact_id") + "'");
    json found = json::array();
    for (const auto& o : w->orders)
      if (o.contact_id == str("contact_id") && (!args.contains("status") || o.status == str("status")))
        found.push_back({{"order_id", o.id}, {"item", o.item}, {"status", o.status}});
    return json{{"orders", found}}.dump();
  }
  if (name == "cancel_order") {
    Order* o = find_by_id(w->orders, str("order_id"));
    if (!o) return error("no order with id '" + str("order_id") + "'");
    if (o->status != "pending") return error("order " + o->id + " is " + o->status + " and cannot be cancelled");
    o->status = "cancelled";
    return json{{"order_id", o->id}, {"status", "cancelled"}}.dump();
  }
  if (name == "send_email") {
    const std::string to = str("to");
    const size_t at = to.find('@');
    if (at == std::string::npos || at == 0 || to.find('.', at) == std::string::npos)
      return error("'" + to + "' is not an email address");
    const std::string id = "M" + std::to_string(w->next_message++);
    w->sent_emails.push_back({{"message_id", id}, {"to", to}, {"subject", str("subject")}, {"body", str("body")}});
    return json{{"message_id", id}, {"status", "sent"}}.dump();
  }
  if (name == "get_weather") {
    const auto it = std::find_if(kCities.begin(), kCities.end(), [&](const std::string& c) { return lower(c) == lower(str("city")); });
    if (it == kCities.end()) return error("no forecast for city '" + str("city") + "'");
    if (!check_date(str("date"))) return error("date must be YYYY-MM-DD, got '" + str("date") + "'");
    const uint64_t h = fnv1a(*it + "|" + str("date"));
    return json{{"city", *it}, {"date", str("date")}, {"forecast", kForecasts[h % kForecasts.size()]},
                {"high_c", static_cast<int64_t>(2 + (h >> 8) % 22)}}
        .dump();
  }
  if (name == "create_note") {
    const std::string id = "N" + std::to_string(w->next_note++);
    w->notes.push_back({id, str("title"), str("text")});
    return json{{"note_id", id}, {"status", "saved"}}.dump();
  }
  if (name == "search_notes") {
    json found = json::array();
    for (const auto& n : w->notes)
      if (!str("keyword").empty() && (contains_ci(n.title, str("keyword")) || contains_ci(n.text, str("keyword"))))
        found.push_back({{"note_id", n.id}, {"title", n.title}, {"text", n.text}});
    return json{{"notes", found}}.dump();
  }
  return error("tool '" + name + "' has no implementation");  // a schema without a branch above
}

}  // namespace rlpp::env::agent

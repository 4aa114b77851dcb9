#include "rlpp/env/agent/case_generator.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "rlpp/core/error.h"
#include "rlpp/core/rng.h"
#include "rlpp/env/agent/tool_world.h"

namespace rlpp::env::agent {

using json = nlohmann::json;
using Obs = std::vector<json>;  // parsed observations of a task's golden calls, in call order

namespace {

// What later tasks may refer back to. Only facts stated in the dialogue's text (user turns and final
// answers) are remembered, since a C³ history keeps the text turns of earlier tasks only.
struct Memory {
  std::string kind;  // topic of the last task: weather | order | events | event | contact | "" (other)
  std::string city, date, order_id, event_id, contact_id;
  std::map<std::string, std::string> known_email, known_city;  // contact id -> fact stated earlier
  std::string recall_question, recall_answer;                  // a fact a chat turn can ask about again
};

struct Call {
  std::string name;
  json args;
  std::vector<int> deps;  // indices of earlier calls of the same task
};

struct Draft {
  std::string text;                       // the user's request
  std::vector<Call> calls;                // golden tool calls (a DAG through deps)
  std::string missing;                    // clarify: the required parameter the request lacks
  std::string question, user_answer;      // clarify: the assistant's question, the user's answer
  std::string subtype = "none";           // how the request depends on earlier turns
  std::function<std::string(const Obs&)> answer;            // the final reply, from the observations
  std::function<void(Memory&, const Obs&)> remember = nullptr;
};

const std::vector<std::string> kSubjects = {"Meeting notes", "Quick question", "Order update", "Lunch plans", "Project plan"};
const std::vector<std::string> kBodies = {"Are you free later this week?", "Please send me the latest numbers.",
                                          "Thanks for your help yesterday.", "Can we move our call to Friday?",
                                          "The report is ready for review."};
const std::vector<std::string> kNewTitles = {"Coffee chat", "Sprint review", "Dentist", "Training", "Workshop", "Offsite"};
const std::vector<std::pair<std::string, std::string>> kNoteDrafts = {
    {"Call back", "Call the bank before noon"}, {"Gift idea", "A book about birds"},
    {"Reminder", "Renew the parking permit"},   {"Recipe", "Lentil soup with lemon"}};
const std::vector<std::string> kTimes = {"09:30", "10:00", "11:00", "13:30", "14:00", "15:00", "16:30"};

std::string first_name(const std::string& full) { return full.substr(0, full.find(' ')); }

std::string capitalize(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

class DialogueWriter {
 public:
  DialogueWriter(WorldState* w, core::Rng* rng) : w_(*w), rng_(*rng) {}

  // A draft of type `t`; `refer` prefers one that depends on earlier turns.
  Draft draft(TaskType t, bool refer) {
    std::vector<Draft> fresh, refs;
    for (auto& make : templates(t)) {
      std::optional<Draft> d = make();
      if (!d) continue;
      (d->subtype == "none" ? fresh : refs).push_back(std::move(*d));
    }
    std::vector<Draft>& from = (refer && !refs.empty()) || fresh.empty() ? refs : fresh;
    if (from.empty()) throw std::logic_error("case generator: no template for task type " + task_type_name(t));
    return std::move(from[rng_.below(from.size())]);
  }

  Memory& memory() { return mem_; }

 private:
  template <class T>
  const T& any(const std::vector<T>& v) { return v[rng_.below(v.size())]; }
  std::string any(std::initializer_list<std::string> v) { return *(v.begin() + rng_.below(v.size())); }

  // "today" / "tomorrow" / "on 2026-03-05": how a user names a date.
  std::string when(const std::string& date) const {
    const int64_t d = days_from_date(date) - days_from_date(w_.today);
    return d == 0 ? "today" : d == 1 ? "tomorrow" : "on " + date;
  }
  std::string near_date(int64_t span) { return add_days(w_.today, static_cast<int64_t>(rng_.below(span))); }
  const Contact& contact(const std::string& id) const {
    for (const auto& c : w_.contacts)
      if (c.id == id) return c;
    throw std::logic_error("case generator: no contact " + id);
  }
  const Order* order(const std::string& id) const {
    for (const auto& o : w_.orders)
      if (o.id == id) return &o;
    return nullptr;
  }
  const Event* active_event(const std::string& id) const {
    for (const auto& e : w_.events)
      if (e.id == id && !e.cancelled) return &e;
    return nullptr;
  }
  std::vector<const Order*> orders_with(const std::string& status) const {
    std::vector<const Order*> out;
    for (const auto& o : w_.orders)
      if (status.empty() || o.status == status) out.push_back(&o);
    return out;
  }
  std::string other_city(const std::string& not_this) {
    std::vector<std::string> c;
    for (const auto& x : weather_cities())
      if (x != not_this) c.push_back(x);
    return any(c);
  }

  static std::string weather_sentence(const json& o) {
    return o.at("city").get<std::string>() + ": " + o.at("forecast").get<std::string>() + ", high " +
           std::to_string(o.at("high_c").get<int64_t>()) + " C";
  }
  static void remember_weather(Memory& m, const json& o) {
    m.kind = "weather";
    m.city = o.at("city");
    m.date = o.at("date");
    m.recall_question = any_recall_weather(m.city);
    m.recall_answer = "You asked about " + m.city + " on " + m.date + ": " + o.at("forecast").get<std::string>() +
                      " with a high of " + std::to_string(o.at("high_c").get<int64_t>()) + " C.";
  }
  static std::string any_recall_weather(const std::string& city) { return "What was the forecast for " + city + " again?"; }

  // ---- single tool --------------------------------------------------------------------------
  Draft weather(const std::string& city, const std::string& date, std::string text, std::string subtype) {
    Draft d;
    d.text = std::move(text);
    d.subtype = std::move(subtype);
    d.calls = {{"get_weather", {{"city", city}, {"date", date}}, {}}};
    d.answer = [](const Obs& o) { return "The forecast for " + weather_sentence(o[0]) + "."; };
    d.remember = [](Memory& m, const Obs& o) { remember_weather(m, o[0]); };
    return d;
  }
  std::optional<Draft> s_weather() {
    const std::string city = any(weather_cities()), date = near_date(5);
    return weather(city, date,
                   any({"What's the weather in " + city + " " + when(date) + "?",
                        "Can you check the forecast for " + city + " " + when(date) + "?",
                        "Will it rain in " + city + " " + when(date) + "?"}),
                   "none");
  }
  std::optional<Draft> s_weather_ellipsis() {
    if (mem_.kind != "weather") return std::nullopt;
    const std::string city = other_city(mem_.city);
    return weather(city, mem_.date, any({"And in " + city + "?", "What about " + city + "?"}), "ellipsis");
  }
  std::optional<Draft> s_weather_memory() {
    if (mem_.known_city.empty()) return std::nullopt;
    auto it = mem_.known_city.begin();
    std::advance(it, rng_.below(mem_.known_city.size()));
    const std::string date = near_date(5), who = first_name(contact(it->first).name);
    return weather(it->second, date,
                   any({"What's the weather " + when(date) + " where " + who + " lives?",
                        "Check the forecast " + when(date) + " for " + who + "'s city."}),
                   "long_term_memory");
  }
  Draft order_status(const Order& o, std::string text, std::string subtype) {
    Draft d;
    d.text = std::move(text);
    d.subtype = std::move(subtype);
    d.calls = {{"get_order", {{"order_id", o.id}}, {}}};
    d.answer = [](const Obs& ob) {
      return "Order " + ob[0].at("order_id").get<std::string>() + " (" + std::to_string(ob[0].at("quantity").get<int64_t>()) +
             " x " + ob[0].at("item").get<std::string>() + ") is " + ob[0].at("status").get<std::string>() + ".";
    };
    d.remember = [](Memory& m, const Obs& ob) {
      m.kind = "order";
      m.order_id = ob[0].at("order_id");
      m.recall_question = "What was the status of order " + m.order_id + " again?";
      m.recall_answer = "Order " + m.order_id + " was " + ob[0].at("status").get<std::string>() + ".";
    };
    return d;
  }
  std::optional<Draft> s_order() {
    const Order& o = *any(orders_with(""));
    return order_status(o,
                        any({"What's the status of order " + o.id + "?", "Can you look up order " + o.id + "?",
                             "Where is my order " + o.id + "?"}),
                        "none");
  }
  std::optional<Draft> s_order_ellipsis() {
    if (mem_.kind != "order") return std::nullopt;
    std::vector<const Order*> others;
    for (const Order* o : orders_with(""))
      if (o->id != mem_.order_id) others.push_back(o);
    const Order& o = *any(others);
    return order_status(o, any({"And order " + o.id + "?", "What about " + o.id + "?"}), "ellipsis");
  }
  Draft cancel_order(const std::string& id, std::string text, std::string subtype) {
    Draft d;
    d.text = std::move(text);
    d.subtype = std::move(subtype);
    d.calls = {{"cancel_order", {{"order_id", id}}, {}}};
    d.answer = [](const Obs& o) { return "Order " + o[0].at("order_id").get<std::string>() + " is cancelled."; };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "order";
      m.order_id = o[0].at("order_id");
    };
    return d;
  }
  std::optional<Draft> s_cancel_order() {
    const auto pending = orders_with("pending");
    if (pending.empty()) return std::nullopt;
    const std::string id = any(pending)->id;
    return cancel_order(id, any({"Please cancel order " + id + ".", "Cancel my order " + id + ", I don't need it anymore."}),
                        "none");
  }
  std::optional<Draft> s_cancel_order_coref() {
    if (mem_.kind != "order" || !order(mem_.order_id) || order(mem_.order_id)->status != "pending") return std::nullopt;
    return cancel_order(mem_.order_id, any({"Please cancel it.", "Cancel that order, please."}), "coreference");
  }
  Draft list_events(const std::string& date, std::string text, std::string subtype) {
    Draft d;
    d.text = std::move(text);
    d.subtype = std::move(subtype);
    d.calls = {{"list_events", {{"date", date}}, {}}};
    d.answer = [](const Obs& o) {
      const json& ev = o[0].at("events");
      const std::string date = o[0].at("date");
      if (ev.empty()) return "You have nothing scheduled on " + date + ".";
      std::string s = "On " + date + " you have: ";
      for (size_t i = 0; i < ev.size(); ++i)
        s += (i ? ", " : "") + ev[i].at("title").get<std::string>() + " at " + ev[i].at("time").get<std::string>();
      return s + ".";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "events";
      m.date = o[0].at("date");
      const json& ev = o[0].at("events");
      m.event_id = ev.size() == 1 ? ev[0].at("event_id").get<std::string>() : "";  // "that meeting" needs one
    };
    return d;
  }
  std::optional<Draft> s_list_events() {
    const std::string date = near_date(7);
    return list_events(date, any({"What's on my calendar " + when(date) + "?", "Do I have any meetings " + when(date) + "?"}),
                       "none");
  }
  std::optional<Draft> s_list_events_ellipsis() {
    if (mem_.kind != "events") return std::nullopt;
    const std::string date = add_days(mem_.date, 1 + static_cast<int64_t>(rng_.below(3)));
    return list_events(date, any({"And " + when(date) + "?", "What about " + when(date) + "?"}), "ellipsis");
  }
  std::optional<Draft> s_search_contact() {
    const Contact& c = any(w_.contacts);
    const std::string who = first_name(c.name);
    Draft d;
    d.text = any({"Find " + who + " in my contacts.", "Look up " + who + " in my address book."});
    d.calls = {{"search_contacts", {{"name", who}}, {}}};
    d.answer = [](const Obs& o) {
      const json& c = o[0].at("contacts").at(0);
      return "I found " + c.at("name").get<std::string>() + " (contact " + c.at("contact_id").get<std::string>() + ").";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "contact";
      m.contact_id = o[0].at("contacts").at(0).at("contact_id");
    };
    return d;
  }
  Draft cancel_event(const Event& e, std::string text, std::string subtype) {
    Draft d;
    d.text = std::move(text);
    d.subtype = std::move(subtype);
    d.calls = {{"cancel_event", {{"event_id", e.id}}, {}}};
    d.answer = [t = e.title, date = e.date](const Obs&) { return t + " on " + date + " is cancelled."; };
    d.remember = [](Memory& m, const Obs&) {
      m.kind = "";
      m.event_id.clear();
    };
    return d;
  }
  std::optional<Draft> s_cancel_event() {
    std::vector<const Event*> active;
    for (const auto& e : w_.events)
      if (!e.cancelled) active.push_back(&e);
    if (active.empty()) return std::nullopt;
    const Event& e = *any(active);
    return cancel_event(e, any({"Cancel event " + e.id + ", please.", "Please remove event " + e.id + " from my calendar."}),
                        "none");
  }
  std::optional<Draft> s_cancel_event_coref() {
    if ((mem_.kind != "event" && mem_.kind != "events") || !active_event(mem_.event_id)) return std::nullopt;
    return cancel_event(*active_event(mem_.event_id), any({"Cancel that meeting.", "Please cancel it."}), "coreference");
  }
  std::optional<Draft> s_note() {
    const auto& n = any(kNoteDrafts);
    Draft d;
    d.text = any({"Make a note titled '" + n.first + "': " + n.second + ".", "Save a note called '" + n.first + "' that says: " + n.second + "."});
    d.calls = {{"create_note", {{"title", n.first}, {"text", n.second}}, {}}};
    d.answer = [t = n.first](const Obs& o) { return "Saved the note '" + t + "' (" + o[0].at("note_id").get<std::string>() + ")."; };
    return d;
  }
  std::optional<Draft> s_search_notes() {
    static const std::vector<std::string> kKeywords = {"parking", "wifi", "milk"};
    const std::string kw = any(kKeywords);
    Draft d;
    d.text = any({"Do I have a note about " + kw + "?", "Search my notes for " + kw + "."});
    d.calls = {{"search_notes", {{"keyword", kw}}, {}}};
    d.answer = [](const Obs& o) {
      const json& n = o[0].at("notes");
      if (n.empty()) return std::string("I found no such note.");
      return "Yes, '" + n[0].at("title").get<std::string>() + "': " + n[0].at("text").get<std::string>() + ".";
    };
    return d;
  }
  std::optional<Draft> s_email_memory() {
    if (mem_.known_email.empty()) return std::nullopt;
    auto it = mem_.known_email.begin();
    std::advance(it, rng_.below(mem_.known_email.size()));
    const std::string who = first_name(contact(it->first).name), subj = any(kSubjects), body = any(kBodies);
    Draft d;
    d.text = "Email " + who + " with the subject '" + subj + "' and say: " + body;
    d.subtype = "long_term_memory";
    d.calls = {{"send_email", {{"to", it->second}, {"subject", subj}, {"body", body}}, {}}};
    d.answer = [who](const Obs&) { return "Email sent to " + who + "."; };
    return d;
  }

  // ---- multi tool ---------------------------------------------------------------------------
  // search_contacts -> get_contact -> send_email (serial)
  Draft email_contact_calls(const Contact& c, const std::string& subj, const std::string& body) {
    Draft d;
    d.calls = {{"search_contacts", {{"name", first_name(c.name)}}, {}},
               {"get_contact", {{"contact_id", c.id}}, {0}},
               {"send_email", {{"to", c.email}, {"subject", subj}, {"body", body}}, {1}}};
    d.answer = [](const Obs& o) {
      return "Done: I emailed " + o[1].at("name").get<std::string>() + " at " + o[1].at("email").get<std::string>() + ".";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "contact";
      m.contact_id = o[1].at("contact_id");
      m.known_email[m.contact_id] = o[1].at("email");
    };
    return d;
  }
  std::optional<Draft> m_email_contact() {
    const Contact& c = any(w_.contacts);
    const std::string subj = any(kSubjects), body = any(kBodies);
    Draft d = email_contact_calls(c, subj, body);
    d.text = any({"Send " + first_name(c.name) + " an email with the subject '" + subj + "' saying: " + body,
                  "Please email " + first_name(c.name) + ". Subject: '" + subj + "'. Message: " + body});
    return d;
  }
  // get_order -> get_contact (serial)
  Draft order_customer(const Order& o, std::string text, std::string subtype) {
    Draft d;
    d.text = std::move(text);
    d.subtype = std::move(subtype);
    d.calls = {{"get_order", {{"order_id", o.id}}, {}}, {"get_contact", {{"contact_id", o.contact_id}}, {0}}};
    d.answer = [](const Obs& ob) {
      return "Order " + ob[0].at("order_id").get<std::string>() + " was placed by " + ob[1].at("name").get<std::string>() +
             "; their email is " + ob[1].at("email").get<std::string>() + " and they live in " + ob[1].at("city").get<std::string>() + ".";
    };
    d.remember = [](Memory& m, const Obs& ob) {
      m.kind = "contact";
      m.contact_id = ob[1].at("contact_id");
      m.known_email[m.contact_id] = ob[1].at("email");
      m.known_city[m.contact_id] = ob[1].at("city");
    };
    return d;
  }
  std::optional<Draft> m_order_customer() {
    const Order& o = *any(orders_with(""));
    return order_customer(o, any({"Who placed order " + o.id + "? I need their email.", "Find the customer of order " + o.id + " and give me their email."}),
                          "none");
  }
  std::optional<Draft> m_order_customer_coref() {
    if (mem_.kind != "order" || !order(mem_.order_id)) return std::nullopt;
    return order_customer(*order(mem_.order_id), any({"Who placed that order? Give me their email.", "Who ordered it? I need their email."}),
                          "coreference");
  }
  // get_weather || get_weather (parallel)
  std::optional<Draft> m_weather_two() {
    const std::string c1 = any(weather_cities()), c2 = other_city(c1), date = near_date(5);
    Draft d;
    d.text = any({"Compare the weather in " + c1 + " and " + c2 + " " + when(date) + ".",
                  "What's the forecast " + when(date) + " for " + c1 + " and for " + c2 + "?"});
    d.calls = {{"get_weather", {{"city", c1}, {"date", date}}, {}}, {"get_weather", {{"city", c2}, {"date", date}}, {}}};
    d.answer = [](const Obs& o) { return weather_sentence(o[0]) + ". " + weather_sentence(o[1]) + "."; };
    d.remember = [](Memory& m, const Obs& o) { remember_weather(m, o[1]); };
    return d;
  }
  std::optional<Draft> m_weather_two_ellipsis() {
    if (mem_.kind != "weather") return std::nullopt;
    const std::string c1 = other_city(mem_.city);
    std::string c2 = other_city(mem_.city);
    while (c2 == c1) c2 = other_city(mem_.city);
    Draft d = *m_weather_two();
    d.text = any({"And in " + c1 + " and " + c2 + "?", "What about " + c1 + " and " + c2 + "?"});
    d.subtype = "ellipsis";
    d.calls = {{"get_weather", {{"city", c1}, {"date", mem_.date}}, {}}, {"get_weather", {{"city", c2}, {"date", mem_.date}}, {}}};
    return d;
  }
  // get_order || get_order (parallel)
  std::optional<Draft> m_orders_two() {
    auto all = orders_with("");
    rng_.shuffle(all.data(), static_cast<int64_t>(all.size()));
    const Order &a = *all[0], &b = *all[1];
    Draft d;
    d.text = any({"What's the status of orders " + a.id + " and " + b.id + "?", "Check orders " + a.id + " and " + b.id + " for me."});
    d.calls = {{"get_order", {{"order_id", a.id}}, {}}, {"get_order", {{"order_id", b.id}}, {}}};
    d.answer = [](const Obs& o) {
      return "Order " + o[0].at("order_id").get<std::string>() + " is " + o[0].at("status").get<std::string>() + "; order " +
             o[1].at("order_id").get<std::string>() + " is " + o[1].at("status").get<std::string>() + ".";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "order";
      m.order_id = o[1].at("order_id");
    };
    return d;
  }
  // get_weather || (search_contacts -> create_event)   (serial + parallel)
  std::optional<Draft> m_weather_and_meeting() {
    const std::string city = any(weather_cities()), date = near_date(5), title = any(kNewTitles), time = any(kTimes);
    const Contact& c = any(w_.contacts);
    Draft d;
    d.text = any({"Check the weather in " + city + " " + when(date) + " and set up '" + title + "' with " + first_name(c.name) +
                      " that day at " + time + ".",
                  "Book '" + title + "' with " + first_name(c.name) + " " + when(date) + " at " + time + ", and tell me the forecast for " +
                      city + " that day."});
    d.calls = {{"get_weather", {{"city", city}, {"date", date}}, {}},
               {"search_contacts", {{"name", first_name(c.name)}}, {}},
               {"create_event", {{"title", title}, {"date", date}, {"time", time}, {"attendee_ids", {c.id}}}, {1}}};
    d.answer = [title, date, time](const Obs& o) {
      return "The forecast for " + weather_sentence(o[0]) + ". '" + title + "' is booked on " + date + " at " + time + " (" +
             o[2].at("event_id").get<std::string>() + ").";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "event";
      m.event_id = o[2].at("event_id");
    };
    return d;
  }
  // (get_order -> get_contact) || get_order   (serial + parallel)
  std::optional<Draft> m_orders_then_contact() {
    auto all = orders_with("");
    rng_.shuffle(all.data(), static_cast<int64_t>(all.size()));
    const Order &a = *all[0], &b = *all[1];
    Draft d;
    d.text = "Look up orders " + a.id + " and " + b.id + ", and tell me the email of whoever placed " + a.id + ".";
    d.calls = {{"get_order", {{"order_id", a.id}}, {}}, {"get_order", {{"order_id", b.id}}, {}},
               {"get_contact", {{"contact_id", a.contact_id}}, {0}}};
    d.answer = [](const Obs& o) {
      return "Order " + o[0].at("order_id").get<std::string>() + " is " + o[0].at("status").get<std::string>() + " and order " +
             o[1].at("order_id").get<std::string>() + " is " + o[1].at("status").get<std::string>() + ". " +
             o[0].at("order_id").get<std::string>() + " was placed by " + o[2].at("name").get<std::string>() + " (" +
             o[2].at("email").get<std::string>() + ").";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "contact";
      m.contact_id = o[2].at("contact_id");
      m.known_email[m.contact_id] = o[2].at("email");
    };
    return d;
  }
  // list_events -> reschedule_event (serial)
  std::optional<Draft> m_reschedule_by_title() {
    std::vector<const Event*> unique;  // active events whose title is unique on their day
    for (const auto& e : w_.events) {
      if (e.cancelled) continue;
      int same = 0;
      for (const auto& f : w_.events) same += !f.cancelled && f.date == e.date && f.title == e.title;
      if (same == 1) unique.push_back(&e);
    }
    if (unique.empty()) return std::nullopt;
    const Event& e = *any(unique);
    const std::string to = add_days(e.date, 1 + static_cast<int64_t>(rng_.below(3))), time = any(kTimes);
    Draft d;
    d.text = any({"Move my " + e.title + " " + when(e.date) + " to " + to + " at " + time + ".",
                  "Please reschedule the " + e.title + " " + when(e.date) + " to " + to + ", " + time + "."});
    d.calls = {{"list_events", {{"date", e.date}}, {}}, {"reschedule_event", {{"event_id", e.id}, {"date", to}, {"time", time}}, {0}}};
    d.answer = [t = e.title](const Obs& o) {
      return t + " is now on " + o[1].at("date").get<std::string>() + " at " + o[1].at("time").get<std::string>() + ".";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "event";
      m.event_id = o[1].at("event_id");
    };
    return d;
  }
  // get_contact -> get_weather, || list_orders   (serial + parallel), about the contact just named
  std::optional<Draft> m_contact_profile_coref() {
    if (mem_.kind != "contact" || mem_.contact_id.empty()) return std::nullopt;
    const Contact& c = contact(mem_.contact_id);
    const std::string date = near_date(5);
    Draft d;
    d.text = any({"What orders do they have, and what's the weather in their city " + when(date) + "?",
                  "Show me their orders, and check the forecast " + when(date) + " where they live."});
    d.subtype = "coreference";
    d.calls = {{"get_contact", {{"contact_id", c.id}}, {}}, {"get_weather", {{"city", c.city}, {"date", date}}, {0}},
               {"list_orders", {{"contact_id", c.id}}, {}}};
    d.answer = [who = first_name(c.name)](const Obs& o) {
      const json& orders = o[2].at("orders");
      std::string s = orders.empty() ? who + " has no orders." : who + "'s orders: ";
      for (size_t i = 0; i < orders.size(); ++i)
        s += (i ? ", " : "") + orders[i].at("order_id").get<std::string>() + " (" + orders[i].at("item").get<std::string>() + ", " +
             orders[i].at("status").get<std::string>() + ")";
      if (!orders.empty()) s += ".";
      return s + " The forecast for " + weather_sentence(o[1]) + ".";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.known_city[o[0].at("contact_id")] = o[0].at("city");
      remember_weather(m, o[1]);
    };
    return d;
  }

  // ---- clarify ------------------------------------------------------------------------------
  std::optional<Draft> q_weather_date() {
    const std::string city = any(weather_cities()), date = near_date(5);
    Draft d = weather(city, date, any({"What will the weather be like in " + city + "?", "Can you get me the forecast for " + city + "?"}), "none");
    d.missing = "date";
    d.question = "For which date should I check the weather in " + city + "?";
    d.user_answer = capitalize(when(date)) + ", please.";
    return d;
  }
  std::optional<Draft> q_cancel_order() {
    const auto pending = orders_with("pending");
    if (pending.empty()) return std::nullopt;
    const std::string id = any(pending)->id;
    Draft d = cancel_order(id, any({"I'd like to cancel an order.", "Please cancel one of my orders."}), "none");
    d.missing = "order_id";
    d.question = "Which order should I cancel? Please give me the order ID.";
    d.user_answer = any({"It's " + id + ".", "Order " + id + "."});
    return d;
  }
  std::optional<Draft> q_create_event_time() {
    const std::string title = any(kNewTitles), date = near_date(6), time = any(kTimes);
    Draft d;
    d.text = any({"Put '" + title + "' on my calendar " + when(date) + ".", "Add '" + title + "' to my calendar " + when(date) + "."});
    d.calls = {{"create_event", {{"title", title}, {"date", date}, {"time", time}}, {}}};
    d.missing = "time";
    d.question = "What time should '" + title + "' start?";
    d.user_answer = "At " + time + ".";
    d.answer = [title, date, time](const Obs& o) {
      return "'" + title + "' is booked on " + date + " at " + time + " (" + o[0].at("event_id").get<std::string>() + ").";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "event";
      m.event_id = o[0].at("event_id");
    };
    return d;
  }
  std::optional<Draft> q_email_subject() {
    const Contact& c = any(w_.contacts);
    const std::string subj = any(kSubjects), body = any(kBodies);
    Draft d = email_contact_calls(c, subj, body);
    d.text = "Email " + first_name(c.name) + " and tell them: " + body;
    d.missing = "subject";
    d.question = "What subject should the email have?";
    d.user_answer = "Use '" + subj + "' as the subject.";
    return d;
  }
  std::optional<Draft> q_list_events_date() {
    const std::string date = near_date(7);
    Draft d = list_events(date, any({"What's on my calendar?", "Do I have any meetings?"}), "none");
    d.missing = "date";
    d.question = "Which day would you like me to check?";
    d.user_answer = capitalize(when(date)) + ".";
    return d;
  }
  std::optional<Draft> q_reschedule_coref() {
    if ((mem_.kind != "event" && mem_.kind != "events") || !active_event(mem_.event_id)) return std::nullopt;
    const Event& e = *active_event(mem_.event_id);
    const std::string to = add_days(e.date, 1 + static_cast<int64_t>(rng_.below(3))), time = any(kTimes);
    Draft d;
    d.text = any({"Move that meeting to " + to + ".", "Please move it to " + to + "."});
    d.subtype = "coreference";
    d.calls = {{"reschedule_event", {{"event_id", e.id}, {"date", to}, {"time", time}}, {}}};
    d.missing = "time";
    d.question = "What time should it start on " + to + "?";
    d.user_answer = "At " + time + ".";
    d.answer = [t = e.title](const Obs& o) {
      return t + " is now on " + o[0].at("date").get<std::string>() + " at " + o[0].at("time").get<std::string>() + ".";
    };
    d.remember = [](Memory& m, const Obs& o) {
      m.kind = "event";
      m.event_id = o[0].at("event_id");
    };
    return d;
  }

  // ---- chat ---------------------------------------------------------------------------------
  static Draft chat(std::string text, std::string reply, std::string subtype) {
    Draft d;
    d.text = std::move(text);
    d.subtype = std::move(subtype);
    d.answer = [reply](const Obs&) { return reply; };
    d.remember = [](Memory& m, const Obs&) { m.kind = ""; };
    return d;
  }
  std::optional<Draft> c_greet() {
    return chat(any({"Hi there!", "Hello, good morning!"}), "Hello! How can I help you today?", "none");
  }
  std::optional<Draft> c_capabilities() {
    return chat(any({"What can you help me with?", "What kind of things can you do?"}),
                "I can look up contacts, manage your calendar, check orders and the weather, send emails and keep notes.", "none");
  }
  std::optional<Draft> c_thanks() {
    return chat(any({"Thanks, that's all for now.", "Great, thank you!"}), "You're welcome! Let me know if you need anything else.",
                "none");
  }
  std::optional<Draft> c_recall() {
    if (mem_.recall_question.empty()) return std::nullopt;
    return chat(mem_.recall_question, mem_.recall_answer, "long_term_memory");
  }

  std::vector<std::function<std::optional<Draft>()>> templates(TaskType t) {
    using D = DialogueWriter;
    using Fn = std::optional<Draft> (D::*)();
    static const std::vector<Fn> single = {
        &D::s_weather, &D::s_weather_ellipsis, &D::s_weather_memory, &D::s_order, &D::s_order_ellipsis,
        &D::s_cancel_order, &D::s_cancel_order_coref, &D::s_list_events, &D::s_list_events_ellipsis,
        &D::s_search_contact, &D::s_cancel_event, &D::s_cancel_event_coref, &D::s_note, &D::s_search_notes,
        &D::s_email_memory};
    static const std::vector<Fn> multi = {
        &D::m_email_contact, &D::m_order_customer, &D::m_order_customer_coref, &D::m_weather_two,
        &D::m_weather_two_ellipsis, &D::m_orders_two, &D::m_weather_and_meeting, &D::m_orders_then_contact,
        &D::m_reschedule_by_title, &D::m_contact_profile_coref};
    static const std::vector<Fn> clarify = {&D::q_weather_date, &D::q_cancel_order, &D::q_create_event_time,
                                            &D::q_email_subject, &D::q_list_events_date, &D::q_reschedule_coref};
    static const std::vector<Fn> chat = {&D::c_greet, &D::c_capabilities, &D::c_thanks, &D::c_recall};
    const std::vector<Fn>& fns = t == TaskType::kSingleTool ? single
                                 : t == TaskType::kMultiTool ? multi
                                 : t == TaskType::kClarify   ? clarify
                                                             : chat;
    std::vector<std::function<std::optional<Draft>()>> out;
    for (auto f : fns) out.push_back([this, f] { return (this->*f)(); });
    return out;
  }

  WorldState& w_;
  core::Rng& rng_;
  Memory mem_;
};

json node(int idx, const std::string& name, json args, std::string observation, std::vector<int> deps) {
  return json{{"idx", idx},
              {"action", {{"name", name}, {"arguments", std::move(args)}}},
              {"observation", std::move(observation)},
              {"dependency_list", std::move(deps)}};
}

uint64_t mix(uint64_t x) {  // splitmix64 finaliser: independent-looking seeds from (seed, path, n)
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<std::vector<TaskType>> all_type_paths(int64_t min_len, int64_t max_len) {
  core::require(1 <= min_len && min_len <= max_len && max_len <= 4,
                "task path lengths must satisfy 1 <= min <= max <= 4, got min = " + std::to_string(min_len) +
                    ", max = " + std::to_string(max_len));
  std::vector<std::vector<TaskType>> out;
  for (int64_t len = min_len; len <= max_len; ++len) {
    int64_t count = 1;
    for (int64_t i = 0; i < len; ++i) count *= 4;
    for (int64_t code = 0; code < count; ++code) {  // base-4 digits, most significant first
      std::vector<TaskType> path(static_cast<size_t>(len));
      int64_t c = code;
      for (int64_t i = len - 1; i >= 0; --i, c /= 4) path[static_cast<size_t>(i)] = kAllTaskTypes[c % 4];
      out.push_back(std::move(path));
    }
  }
  return out;
}

json generate_case(const std::vector<TaskType>& path, uint64_t seed, const std::string& id, int64_t distractor_tools) {
  core::require(!path.empty() && path.size() <= 4, "a dialogue has 1 to 4 tasks, got " + std::to_string(path.size()));
  const uint64_t world_seed = mix(seed);
  WorldState world = make_world(world_seed);
  core::Rng rng(mix(seed ^ 0x6361736573ULL));
  DialogueWriter writer(&world, &rng);

  json types = json::array(), tasks = json::array(), task_ids = json::array(), messages = json::array(),
       answers = json::array(), turn_type = json::array(), subtypes = json::array();
  std::set<std::string> used;
  for (size_t t = 0; t < path.size(); ++t) {
    const bool refer = t > 0 && rng.uniform() < 0.5;
    Draft d = writer.draft(path[t], refer);
    json nodes = json::array();
    const int offset = d.missing.empty() ? 0 : 1;
    if (offset) {
      json ask = node(0, kAskUser, {{"missing_parameters", {d.missing}}}, "", {});
      ask["user_input"] = d.user_answer;
      nodes.push_back(ask);
    }
    Obs obs;
    std::vector<bool> has_dependent(d.calls.size(), false);
    for (size_t k = 0; k < d.calls.size(); ++k) {
      const Call& c = d.calls[k];
      // golden calls run in list order, which the templates write topologically
      const std::string out = execute_tool(&world, c.name, c.args);
      json parsed = json::parse(out);
      if (parsed.contains("error"))
        throw std::logic_error("case generator: golden call " + c.name + c.args.dump() + " failed: " + out);
      std::vector<int> deps;
      for (int dep : c.deps) {
        deps.push_back(dep + offset);
        has_dependent[static_cast<size_t>(dep)] = true;
      }
      if (offset && deps.empty()) deps.push_back(0);  // nothing runs before the user has answered
      nodes.push_back(node(static_cast<int>(k) + offset, c.name, c.args, out, deps));
      obs.push_back(std::move(parsed));
      used.insert(c.name);
    }
    std::vector<int> sinks;
    for (size_t k = 0; k < d.calls.size(); ++k)
      if (!has_dependent[k]) sinks.push_back(static_cast<int>(k) + offset);
    nodes.push_back(node(static_cast<int>(nodes.size()), kPrepareToAnswer,
                         {{"answer_type", d.calls.empty() ? "chat" : "tool"}}, "", sinks));

    if (t > 0) messages.push_back(kSegmentSeparator);
    messages.push_back({{"role", "user"}, {"content", d.text}});
    if (offset) {
      messages.push_back({{"role", "assistant"}, {"content", d.question}});
      messages.push_back({{"role", "user"}, {"content", d.user_answer}});
    }
    messages.push_back({{"role", "assistant"}, {"content", d.answer(obs)}});
    if (d.remember) d.remember(writer.memory(), obs);

    types.push_back(task_type_name(path[t]));
    tasks.push_back(d.text);
    task_ids.push_back(0);
    answers.push_back(nodes);
    turn_type.push_back(d.subtype != "none");
    subtypes.push_back(d.subtype);
  }

  // offered tools: those used plus distractors, in the world's fixed order
  std::vector<std::string> others;
  for (const json& t : tool_schemas())
    if (!used.count(t.at("function").at("name").get<std::string>())) others.push_back(t.at("function").at("name"));
  rng.shuffle(others.data(), static_cast<int64_t>(others.size()));
  for (int64_t i = 0; i < distractor_tools && i < static_cast<int64_t>(others.size()); ++i) used.insert(others[i]);
  json tools = json::array();
  for (const json& t : tool_schemas())
    if (used.count(t.at("function").at("name").get<std::string>())) tools.push_back(t);

  json c;
  c["id"] = id;
  c["type"] = types;
  c["task"] = tasks;
  c["task_ids"] = task_ids;
  c["messages"] = messages;
  c["tools"] = tools;
  c["answer_list"] = answers;
  c["env_info"] = world.today + " 09:00:00 " + weekday_name(world.today);
  c["turn_type"] = turn_type;
  c["turn_subtypes"] = subtypes;
  c["world_seed"] = world_seed;
  return c;
}

std::vector<json> generate_cases(const GeneratorOptions& opts) {
  core::require(opts.per_path >= 1, "per_path must be >= 1, got " + std::to_string(opts.per_path));
  core::require(opts.distractor_tools >= 0, "distractor_tools must be >= 0, got " + std::to_string(opts.distractor_tools));
  std::vector<json> out;
  const auto paths = all_type_paths(opts.min_tasks, opts.max_tasks);
  for (size_t p = 0; p < paths.size(); ++p) {
    std::string letters;
    for (TaskType t : paths[p]) letters += task_type_letter(t);
    for (int64_t n = 0; n < opts.per_path; ++n) {
      const uint64_t seed = mix(mix(opts.seed) ^ mix(static_cast<uint64_t>(p) * 1000003ULL + static_cast<uint64_t>(n)));
      out.push_back(generate_case(paths[p], seed, "rlpp-" + std::to_string(opts.seed) + "-" + letters + "-" + std::to_string(n),
                                  opts.distractor_tools));
    }
  }
  return out;
}

}  // namespace rlpp::env::agent

#include "rlpp/harness/replay.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "rlpp/core/strings.h"

namespace rlpp::harness {

using nlohmann::json;

const char* action_error_name(ActionError e) {
  switch (e) {
    case ActionError::kNone: return "none";
    case ActionError::kRejectToolCalling: return "reject_tool_calling";
    case ActionError::kEarlyStop: return "early_stop";
    case ActionError::kNameHallucination: return "function_name_hallucination";
    case ActionError::kMissingInformation: return "missing_information";
    case ActionError::kCallWithoutNeed: return "call_without_need";
    case ActionError::kRedundantCall: return "redundant_call";
    case ActionError::kWrongFunction: return "wrong_function";
    case ActionError::kRequestFailed: return "request_failed";
  }
  return "?";
}

namespace {

struct PredCall {
  std::string id, name;
  json arguments;  // parsed object, or the raw string when it was not JSON
};

std::vector<PredCall> predicted_calls(const json& reply) {
  std::vector<PredCall> out;
  for (const auto& c : reply["tool_calls"]) {
    PredCall p{c["id"].get<std::string>(), c["function"]["name"].get<std::string>(), json()};
    const std::string raw = c["function"]["arguments"].get<std::string>();
    try {
      p.arguments = raw.empty() ? json::object() : json::parse(raw);
    } catch (const json::exception&) {
      p.arguments = raw;
    }
    out.push_back(std::move(p));
  }
  return out;
}

json tool_parameters(const json& tools, const std::string& name) {
  for (const auto& t : tools)
    if (t["function"]["name"] == name) return t["function"].value("parameters", json::object());
  return json::object();
}

bool is_tool(const json& tools, const std::string& name) {
  for (const auto& t : tools)
    if (t["function"]["name"] == name) return true;
  return false;
}

// Is multiset `sub` (sorted) strictly inside multiset `sup` (sorted)?
bool strict_sub_multiset(const std::vector<std::string>& sub, const std::vector<std::string>& sup) {
  return sub.size() < sup.size() && std::includes(sup.begin(), sup.end(), sub.begin(), sub.end());
}

struct Pairing {
  std::vector<int> node_of_call;     // golden node position per predicted call
  std::vector<CallScore> scores;     // per predicted call
  double total = 0.0;
};

// Greedy pairing by name: each predicted call (in reply order) takes the unpaired golden node of
// its name with the best argument score.
Pairing pair_calls(const std::vector<PredCall>& calls, const Step& step, const Task& task, const json& tools,
                   const std::string& context) {
  Pairing p;
  std::vector<bool> used(step.nodes.size(), false);
  for (const auto& c : calls) {
    int best = -1;
    CallScore best_score;
    best_score.score = -1.0;
    for (size_t k = 0; k < step.nodes.size(); ++k) {
      const GoldenNode& g = task.nodes[step.nodes[k]];
      if (used[k] || g.name != c.name) continue;
      CallScore s = score_call(c.arguments, g.arguments, tool_parameters(tools, g.name), context);
      if (s.score > best_score.score) best = static_cast<int>(k), best_score = s;
    }
    used[best] = true;  // names match as multisets, so a node is always left
    p.node_of_call.push_back(step.nodes[best]);
    p.total += best_score.score;
    p.scores.push_back(std::move(best_score));
  }
  return p;
}

bool same_nodes(const Step& a, const Step& b) {
  auto x = a.nodes, y = b.nodes;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y;
}

}  // namespace

TaskResult replay_task(ChatModel& model, const Case& c, int t, int trial, const ReplayOptions& opts,
                       const TranscriptSink& sink) {
  const Task& task = c.tasks.at(t);
  TaskResult r;
  r.case_id = c.id;
  r.trial = trial;
  r.position = t;
  r.type = task.type;
  r.shape = dag_shape(task.nodes);
  r.turn_type = task.turn_type;
  r.turn_subtypes = task.turn_subtypes;
  r.type_path = c.type_path();
  r.prefix = c.type_path(t + 1);
  for (const auto& n : task.nodes) r.n_tool_nodes += n.kind == NodeKind::kTool;

  PathOptions node_level = opts.paths;
  node_level.dedupe_by_names = false;
  std::vector<StepPath> paths = enumerate_step_paths(task.nodes, node_level);
  r.n_paths = static_cast<int>(enumerate_step_paths(task.nodes, opts.paths).size());
  r.min_steps = static_cast<int>(paths.front().steps.size());
  for (const auto& p : paths) r.min_steps = std::min(r.min_steps, static_cast<int>(p.steps.size()));

  json messages = task.prompt;
  bool args_ok = true;
  int tool_steps_done = 0;
  auto finish = [&](bool solved) {
    r.action_ok = solved;
    r.args_ok = solved && args_ok;
    int rem = INT32_MAX;
    for (const auto& p : paths) rem = std::min(rem, static_cast<int>(p.steps.size()) - r.steps_done);
    r.remaining_min = solved ? 0 : std::max(rem, 0);
    r.progress = r.steps_done + r.remaining_min > 0
                     ? static_cast<double>(r.steps_done) / (r.steps_done + r.remaining_min) : 1.0;
    r.optimal = solved && r.steps_done == r.min_steps;
    return r;
  };

  for (int k = 0;; ++k) {
    // Every surviving path still has a step k: a path ends with prepare_to_answer, which ends the task.
    json reply;
    const auto t0 = std::chrono::steady_clock::now();
    json line{{"case_id", c.id}, {"trial", trial}, {"task", t}, {"step", k},
              {"request", {{"messages", messages}, {"tools", c.tools}}}};
    ++r.requests;
    try {
      reply = normalize_assistant_message(model.complete(messages, c.tools));
      line["response"] = reply;
    } catch (const ModelError& e) {
      line["error"] = e.what();
      line["latency_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (sink) sink(line);
      r.action_error = ActionError::kRequestFailed;
      r.detail = e.what();
      return finish(false);
    }
    line["latency_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (sink) sink(line);

    const auto calls = predicted_calls(reply);
    bool due_tool = false, due_ask = false, due_prepare = false, due_chat_answer = false;
    for (const auto& p : paths) {
      const Step& s = p.steps[k];
      due_tool |= s.kind == NodeKind::kTool;
      due_ask |= s.kind == NodeKind::kAskUser;
      if (s.kind == NodeKind::kPrepareToAnswer) {
        due_prepare = true;
        due_chat_answer |= task.nodes[s.nodes[0]].answer_type == "chat";
      }
    }

    if (calls.empty()) {
      const std::string content = reply["content"].get<std::string>();
      if (due_prepare) {
        ++r.steps_done;
        paths.erase(std::remove_if(paths.begin(), paths.end(),
                                   [&](const StepPath& p) { return p.steps[k].kind != NodeKind::kPrepareToAnswer; }),
                    paths.end());
        return finish(true);
      }
      if (due_ask) {
        paths.erase(std::remove_if(paths.begin(), paths.end(),
                                   [&](const StepPath& p) { return p.steps[k].kind != NodeKind::kAskUser; }),
                    paths.end());
        const GoldenNode& ask = task.nodes[paths.front().steps[k].nodes[0]];
        messages.push_back({{"role", "assistant"}, {"content", content}});
        messages.push_back({{"role", "user"}, {"content", ask.user_input}});
        ++r.steps_done;
        continue;
      }
      r.action_error = tool_steps_done == 0 ? ActionError::kRejectToolCalling : ActionError::kEarlyStop;
      r.detail = "text reply at step " + std::to_string(k) + " where a tool call was due";
      return finish(false);
    }

    std::vector<std::string> names;
    for (const auto& pc : calls) names.push_back(pc.name);
    std::sort(names.begin(), names.end());
    const std::string context = messages.dump();
    int chosen = -1;
    Pairing best;
    for (size_t i = 0; i < paths.size(); ++i) {
      const Step& s = paths[i].steps[k];
      if (s.kind != NodeKind::kTool || s.names != names) continue;
      Pairing p = pair_calls(calls, s, task, c.tools, context);
      if (chosen < 0 || p.total > best.total) chosen = static_cast<int>(i), best = std::move(p);
    }
    if (chosen < 0) {
      std::vector<std::string> unknown;
      for (const auto& n : names)
        if (!is_tool(c.tools, n)) unknown.push_back(n);
      bool superset = false;
      for (const auto& p : paths)
        superset |= p.steps[k].kind == NodeKind::kTool && strict_sub_multiset(p.steps[k].names, names);
      if (!unknown.empty()) r.action_error = ActionError::kNameHallucination;
      else if (due_tool) r.action_error = superset ? ActionError::kRedundantCall : ActionError::kWrongFunction;
      else if (due_ask) r.action_error = ActionError::kMissingInformation;
      else if (due_chat_answer && tool_steps_done == 0) r.action_error = ActionError::kCallWithoutNeed;
      else r.action_error = ActionError::kRedundantCall;
      r.detail = "called [" + core::join(names, ",") + "] at step " + std::to_string(k);
      if (!unknown.empty()) r.detail += "; unknown: " + core::join(unknown, ",");
      return finish(false);
    }

    for (const auto& s : best.scores) {
      r.call_scores.push_back(s.score);
      if (!s.passed) {
        args_ok = false;
        r.arg_errors.push_back(s.first_error);
      }
    }
    const Step chosen_step = paths[chosen].steps[k];
    paths.erase(std::remove_if(paths.begin(), paths.end(),
                               [&](const StepPath& p) { return !same_nodes(p.steps[k], chosen_step); }),
                paths.end());
    messages.push_back(reply);
    for (size_t i = 0; i < calls.size(); ++i)
      messages.push_back({{"role", "tool"},
                          {"tool_call_id", calls[i].id},
                          {"name", calls[i].name},
                          {"content", observation_text(task.nodes[best.node_of_call[i]].observation)}});
    ++r.steps_done;
    ++tool_steps_done;
  }
}

std::vector<TaskResult> replay_case(ChatModel& model, const Case& c, int trial, const ReplayOptions& opts,
                                    const TranscriptSink& sink) {
  std::vector<TaskResult> out;
  for (int t = 0; t < static_cast<int>(c.tasks.size()); ++t) out.push_back(replay_task(model, c, t, trial, opts, sink));
  return out;
}

ReplayRun replay_all(ChatModel& model, const std::vector<Case>& cases, int trials, int concurrency,
                     const ReplayOptions& opts, const std::function<void(int, int)>& on_done,
                     const std::atomic<bool>* stop) {
  const int total = trials * static_cast<int>(cases.size());
  std::vector<std::vector<TaskResult>> results(total);
  std::vector<std::vector<json>> lines(total);
  std::vector<bool> finished(total, false);
  std::atomic<int> next{0};
  std::mutex mu;
  int done = 0;
  std::exception_ptr error;
  auto worker = [&] {
    for (;;) {
      if (stop && stop->load()) return;
      const int w = next++;
      if (w >= total) return;
      const int trial = w / static_cast<int>(cases.size());
      const Case& c = cases[w % cases.size()];
      try {
        auto sink = [&lines, w](const json& j) { lines[w].push_back(j); };
        results[w] = replay_case(model, c, trial, opts, sink);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        next = total;  // stop handing out work
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      finished[w] = true;
      ++done;
      if (on_done) on_done(done, total);
    }
  };
  const int n_threads = std::max(1, std::min(concurrency, total));
  std::vector<std::thread> pool;
  for (int i = 1; i < n_threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);

  ReplayRun run;
  for (int w = 0; w < total; ++w) {
    if (!finished[w]) {
      run.complete = false;
      continue;
    }
    for (auto& r : results[w]) run.results.push_back(std::move(r));
    for (auto& l : lines[w]) run.transcript.push_back(std::move(l));
  }
  return run;
}

}  // namespace rlpp::harness

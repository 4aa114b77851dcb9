// Replay of one task against a model, exactly as in C³-Bench (arXiv 2505.18746) and
// docs/agent-bench.md:
//
//   messages <- the task's prompt (golden history of earlier tasks + its own user turn)
//   paths    <- every node-level step path of the task's DAG;  k <- 0
//   loop: reply <- model(messages, tools)
//     tool calls: sorted predicted names must equal step k of some surviving path; among those
//                 paths the one whose step-k calls best match the arguments is chosen; the reply
//                 and one `tool` message per call (the stored observation, tool_call_id echoed) are
//                 appended; paths whose first k+1 steps differ from the chosen one are pruned;
//                 k <- k+1.  No such path: the task fails (an action error is classified).
//     text:       step k is ask_user on a surviving path -> append the reply and the stored user
//                 answer, prune to those paths, k <- k+1;  step k is prepare_to_answer -> the task
//                 is solved; anything else -> the task fails.
// The next task of the dialogue starts again from its golden prompt, whatever happened here.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/harness/argument_score.h"
#include "rlpp/harness/case.h"
#include "rlpp/harness/chat_model.h"
#include "rlpp/harness/step_paths.h"

namespace rlpp::harness {

// Why a task failed at the action level (see docs/agent-bench.md for the precise rules).
enum class ActionError {
  kNone,
  kRejectToolCalling,   // text reply where a tool step was due and no tool step was done yet
  kEarlyStop,           // text reply where a tool step was due after at least one tool step
  kNameHallucination,   // a called name that is not among the tools
  kMissingInformation,  // tool calls where the user had to be asked for a missing parameter
  kCallWithoutNeed,     // tool calls in a chat task (answer_type chat), nothing called before
  kRedundantCall,       // tool calls when the answer was due, or a superset of the due step
  kWrongFunction,       // real tools, but not the names of any due step
  kRequestFailed,       // the model request failed (transport / protocol), not a model decision
};
constexpr int kNumActionErrors = 9;
const char* action_error_name(ActionError e);

struct TaskResult {
  std::string case_id;
  int trial = 0;
  int position = 0;                 // 0-based index of the task in its dialogue
  TaskType type = TaskType::kSingleTool;
  DagShape shape = DagShape::kNone;
  TurnType turn_type = TurnType::kUnknown;
  std::vector<std::string> turn_subtypes;
  std::string type_path;            // the whole dialogue's type path
  std::string prefix;               // type path up to and including this task
  int n_tool_nodes = 0;

  bool action_ok = false;           // solved on some golden step path
  bool args_ok = false;             // action_ok and every call's argument score >= 0.7
  int steps_done = 0;               // steps matched (the final prepare_to_answer included)
  int min_steps = 0;                // length of the task's optimal paths
  int remaining_min = 0;            // steps of the shortest path still consistent at the end
  double progress = 0.0;            // steps_done / (steps_done + remaining); 1 iff action_ok
  bool optimal = false;             // action_ok and steps_done == min_steps
  int n_paths = 0;                  // step paths (deduplicated by names)
  ActionError action_error = ActionError::kNone;
  std::vector<ArgError> arg_errors; // first_error of every call below 0.7
  std::vector<double> call_scores;  // per matched call
  std::string detail;               // a short human-readable account of a failure
  int requests = 0;
};

struct ReplayOptions {
  PathOptions paths;                // limit on node-level paths per task
};

// Called once per model request with {case_id, trial, task, step, request: {messages, tools},
// response | error, latency_s}; must be thread-safe when replays run concurrently.
using TranscriptSink = std::function<void(const nlohmann::json&)>;

// Replays task `t` of `c`. ModelError from the model fails the task with kRequestFailed.
// std::length_error when the task has more step paths than opts.paths.max_paths.
TaskResult replay_task(ChatModel& model, const Case& c, int t, int trial, const ReplayOptions& opts,
                       const TranscriptSink& sink = nullptr);

// Every task of `c`, in order.
std::vector<TaskResult> replay_case(ChatModel& model, const Case& c, int trial, const ReplayOptions& opts,
                                    const TranscriptSink& sink = nullptr);

// Replays `trials` x cases on `concurrency` threads (one case of one trial per work item). Results
// and transcript lines come back ordered by (trial, case, task, step) whatever the scheduling.
// `on_done(done, total)` is called after each work item (serialised); work stops early when
// `stop` turns true (`complete` is then false and the results are partial).
struct ReplayRun {
  std::vector<TaskResult> results;
  std::vector<nlohmann::json> transcript;
  bool complete = true;
};
ReplayRun replay_all(ChatModel& model, const std::vector<Case>& cases, int trials, int concurrency,
                     const ReplayOptions& opts, const std::function<void(int, int)>& on_done = nullptr,
                     const std::atomic<bool>* stop = nullptr);

}  // namespace rlpp::harness

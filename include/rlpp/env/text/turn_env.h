// Text environments that answer back: the model and the environment take turns in one dialogue
// (tool use, clarifying questions, multi-step tasks). A TurnEnv runs one episode; a task whose
// instances are dialogues also implements MultiTurnTask, and the RL trainer then rolls it out turn
// by turn (train/lm/multi_turn.h) instead of grading a single response.
#pragma once
#include <memory>
#include <string>

#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

class TurnEnv {
 public:
  virtual ~TurnEnv() = default;
  struct Reply {
    std::string text;   // appended after the model's turn: tool responses, the next user turn and
                        // the header that opens the next assistant turn (may be empty when done)
    bool done = false;  // the episode is over: no further model turn
  };
  // The first prompt (already chat-templated, ending with the assistant header).
  virtual std::string opening() = 0;
  // `model_turn`: the model's turn decoded without special tokens.
  virtual Reply respond(const std::string& model_turn) = 0;
  virtual double reward() const = 0;   // the trajectory reward
  virtual double correct() const = 0;  // task success in [0, 1]
};

class MultiTurnTask {
 public:
  virtual ~MultiTurnTask() = default;
  // A fresh episode of `inst` (an instance this task sampled); its opening() is inst.prompt.
  virtual std::unique_ptr<TurnEnv> episode(const TaskInstance& inst) const = 0;
};

}  // namespace rlpp::env::text

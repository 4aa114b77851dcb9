#include "rlpp/harness/metrics.h"

#include <gtest/gtest.h>

namespace rlpp::harness {
namespace {

using nlohmann::json;

TEST(PassHatK, HandComputed) {
  EXPECT_DOUBLE_EQ(binomial(5, 2), 10.0);
  EXPECT_DOUBLE_EQ(binomial(5, 0), 1.0);
  EXPECT_DOUBLE_EQ(binomial(2, 3), 0.0);
  // n = 5 trials; tasks with 5, 3 and 0 successes.
  const std::vector<int> c{5, 3, 0};
  EXPECT_NEAR(pass_hat_k(c, 5, 1), (1.0 + 3.0 / 5.0 + 0.0) / 3.0, 1e-12);
  EXPECT_NEAR(pass_hat_k(c, 5, 2), (1.0 + 3.0 / 10.0) / 3.0, 1e-12);   // C(3,2)/C(5,2)
  EXPECT_NEAR(pass_hat_k(c, 5, 3), (1.0 + 1.0 / 10.0) / 3.0, 1e-12);   // C(3,3)/C(5,3)
  EXPECT_NEAR(pass_hat_k(c, 5, 4), 1.0 / 3.0, 1e-12);                  // C(3,4) = 0
}

TaskResult mk(const std::string& id, int trial, int pos, TaskType type, DagShape shape, TurnType turn,
              const std::string& path, bool action, bool args, double progress, bool optimal, int n_tools,
              ActionError ae = ActionError::kNone, std::vector<ArgError> ge = {}) {
  TaskResult r;
  r.case_id = id;
  r.trial = trial;
  r.position = pos;
  r.type = type;
  r.shape = shape;
  r.turn_type = turn;
  r.type_path = path;
  const auto cut = pos == 0 ? path.find('>') : std::string::npos;
  r.prefix = path.substr(0, cut);
  r.action_ok = action;
  r.args_ok = args;
  r.progress = progress;
  r.optimal = optimal;
  r.n_tool_nodes = n_tools;
  r.action_error = ae;
  r.arg_errors = std::move(ge);
  return r;
}

TEST(Metrics, SmallHandScoredSet) {
  const std::string ac = "single_tool>chat", b = "multi_tool";
  const auto S = TaskType::kSingleTool, C = TaskType::kChat, M = TaskType::kMultiTool;
  const auto T = TurnType::kTrue, F = TurnType::kFalse;
  const std::vector<TaskResult> rs{
      // trial 0
      mk("A", 0, 0, S, DagShape::kSingle, F, ac, true, true, 1.0, true, 1),
      mk("A", 0, 1, C, DagShape::kNone, T, ac, false, false, 0.0, false, 0, ActionError::kCallWithoutNeed),
      mk("B", 0, 0, M, DagShape::kParallel, F, b, true, false, 1.0, false, 2, ActionError::kNone, {ArgError::kValueError}),
      // trial 1
      mk("A", 1, 0, S, DagShape::kSingle, F, ac, true, true, 1.0, true, 1),
      mk("A", 1, 1, C, DagShape::kNone, T, ac, true, true, 1.0, true, 0),
      mk("B", 1, 0, M, DagShape::kParallel, F, b, false, false, 1.0 / 3.0, false, 2, ActionError::kEarlyStop),
  };
  const json m = compute_metrics(rs, 2);
  // overall: action ok 4 of 6, with args 3 of 6, progress (1+0+1+1+1+1/3)/6, optimal 3 of 6
  EXPECT_EQ(m["overall"]["n"], 6);
  EXPECT_NEAR(m["overall"]["action_acc"].get<double>(), 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(m["overall"]["args_acc"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(m["overall"]["progress"].get<double>(), 13.0 / 18.0, 1e-12);
  EXPECT_NEAR(m["optimal_path"]["rate"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(m["optimal_path"]["among_solved"].get<double>(), 0.75, 1e-12);
  EXPECT_NEAR(m["optimal_path"]["multi_tool_rate"].get<double>(), 0.0, 1e-12);
  // position x type
  EXPECT_EQ(m["by_position_type"]["1"]["single_tool"], (json{{"n", 2}, {"action_acc", 1.0}, {"args_acc", 1.0}}));
  EXPECT_EQ(m["by_position_type"]["1"]["multi_tool"], (json{{"n", 2}, {"action_acc", 0.5}, {"args_acc", 0.0}}));
  EXPECT_EQ(m["by_position_type"]["2"]["chat"], (json{{"n", 2}, {"action_acc", 0.5}, {"args_acc", 0.5}}));
  EXPECT_EQ(m["by_position"]["1"], (json{{"n", 4}, {"action_acc", 0.75}, {"args_acc", 0.5}}));
  EXPECT_FALSE(m["by_position_type"]["2"].contains("single_tool"));
  // shapes
  EXPECT_EQ(m["by_shape"]["parallel"], (json{{"n", 2}, {"action_acc", 0.5}, {"args_acc", 0.0}}));
  EXPECT_EQ(m["by_shape"]["single"], (json{{"n", 2}, {"action_acc", 1.0}, {"args_acc", 1.0}}));
  // type paths: single_tool>chat 3/4 and 3/4; multi_tool 1/2 and 0.
  EXPECT_EQ(m["type_paths"][ac], (json{{"n", 4}, {"action_acc", 0.75}, {"args_acc", 0.75}}));
  // variance of {0.75, 0.5} = 0.125^2; of {0.75, 0} = 0.375^2
  EXPECT_NEAR(m["type_path_variance"]["action"].get<double>(), 0.015625, 1e-12);
  EXPECT_NEAR(m["type_path_variance"]["args"].get<double>(), 0.140625, 1e-12);
  // prefixes: the prefix's last task
  EXPECT_EQ(m["prefix_accuracy"]["single_tool"], (json{{"n", 2}, {"action_acc", 1.0}, {"args_acc", 1.0}}));
  EXPECT_EQ(m["prefix_accuracy"][ac], (json{{"n", 2}, {"action_acc", 0.5}, {"args_acc", 0.5}}));
  // true vs false multi-turn
  EXPECT_EQ(m["multi_turn"]["true"], (json{{"n", 2}, {"action_acc", 0.5}, {"args_acc", 0.5}}));
  EXPECT_EQ(m["multi_turn"]["false"], (json{{"n", 4}, {"action_acc", 0.75}, {"args_acc", 0.5}}));
  // error taxonomy
  EXPECT_EQ(m["errors"]["failed_tasks"], 2);
  EXPECT_EQ(m["errors"]["action"]["call_without_need"], 1);
  EXPECT_EQ(m["errors"]["action"]["early_stop"], 1);
  EXPECT_EQ(m["errors"]["action"]["wrong_function"], 0);
  EXPECT_EQ(m["errors"]["arg_failed_tasks"], 1);
  EXPECT_EQ(m["errors"]["argument"]["value_error"], 1);
  // pass^k with arguments: A#1 2 of 2, A#2 1 of 2, B#1 0 of 2
  EXPECT_NEAR(m["pass_hat_k"]["1"].get<double>(), (1.0 + 0.5 + 0.0) / 3.0, 1e-12);
  EXPECT_NEAR(m["pass_hat_k"]["2"].get<double>(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(m["progress_by_type"]["multi_tool"].get<double>(), (1.0 + 1.0 / 3.0) / 2.0, 1e-12);
}

}  // namespace
}  // namespace rlpp::harness

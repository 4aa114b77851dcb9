#include "rlpp/env/agent/case_validation.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "env/agent/hand_case.h"
#include "rlpp/core/error.h"

namespace rlpp::env::agent {
namespace {

using json = nlohmann::json;
using testing::hand_case;

// Whether some problem contains `text`.
bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

TEST(CaseValidation, HandWrittenCaseIsValid) {
  const auto problems = validate_case(hand_case());
  EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems.front());
}

TEST(CaseValidation, CatchesACycle) {
  json c = hand_case();
  c["answer_list"][0][1]["dependency_list"] = {2};  // 1 -> 2 -> 1
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[0]: the dependency graph has a cycle"));
}

TEST(CaseValidation, CatchesAMissingObservation) {
  json c = hand_case();
  c["answer_list"][0][2].erase("observation");
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[0][2]: tool node 'get_contact' has no observation"));
  c = hand_case();
  c["answer_list"][1][1]["observation"] = "";
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[1][1]: tool node 'get_weather' has no observation"));
}

TEST(CaseValidation, CatchesABadArgumentType) {
  json c = hand_case();
  c["answer_list"][0][0]["action"]["arguments"]["date"] = 20260305;
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[0][0]: action 'get_weather': argument 'date' must be string, got integer"));
  c = hand_case();
  c["answer_list"][0][0]["action"]["arguments"]["unit"] = "c";
  EXPECT_TRUE(mentions(validate_case(c), "unknown argument 'unit'"));
  c = hand_case();
  c["answer_list"][0][0]["action"]["arguments"].erase("city");
  EXPECT_TRUE(mentions(validate_case(c), "missing required argument 'city'"));
}

TEST(CaseValidation, CatchesAnUnknownTool) {
  json c = hand_case();
  c["answer_list"][0][2]["action"]["name"] = "get_contact_details";
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[0][2]: action 'get_contact_details' is not an offered tool"));
  c = hand_case();  // a world tool that the case does not offer
  c["answer_list"][0][2]["action"] = {{"name", "cancel_order"}, {"arguments", {{"order_id", "O301"}}}};
  EXPECT_TRUE(mentions(validate_case(c), "'cancel_order' is not an offered tool"));
}

TEST(CaseValidation, CatchesStructuralProblems) {
  json c = hand_case();
  c["answer_list"][0][2]["dependency_list"] = {7};
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[0][2]: dependency 7 does not exist"));
  c = hand_case();
  c["answer_list"][1][0].erase("user_input");
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[1][0]: ask_user node needs a non-empty user_input string"));
  c = hand_case();
  c["type"].push_back("chat");
  EXPECT_TRUE(mentions(validate_case(c), "'answer_list' has 3 entries for 4 task types"));
  c = hand_case();
  c["type"][0] = "single_tool";  // three calls
  EXPECT_TRUE(mentions(validate_case(c), "a single_tool task needs exactly one tool call, has 3"));
  c = hand_case();
  c["type"][2] = "chatter";
  EXPECT_TRUE(mentions(validate_case(c), "type[2]: unknown task type \"chatter\""));
  c = hand_case();
  c["answer_list"][2][0]["action"]["arguments"]["answer_type"] = "tool";
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[2]: a chat task has no tool calls"));
  c = hand_case();
  c["answer_list"][0][1]["idx"] = 5;
  EXPECT_TRUE(mentions(validate_case(c), "answer_list[0][1]: idx must equal the node's position 1"));
  c = hand_case();
  c["task_ids"][1] = 1;  // the clarify question, an assistant message
  EXPECT_TRUE(mentions(validate_case(c), "messages segment 1: no user message with string content at task_ids[1]"));
  c = hand_case();
  c["messages"].erase(c["messages"].begin() + 2);  // drop the first separator
  EXPECT_TRUE(mentions(validate_case(c), "'messages segments' has 2 entries for 3 task types"));
  c = hand_case();
  c.erase("answer_list");
  EXPECT_TRUE(mentions(validate_case(c), "missing field 'answer_list'"));
  EXPECT_FALSE(validate_case(json::array()).empty());
}

TEST(CaseValidation, FileReportNamesLines) {
  const std::string path = ::testing::TempDir() + "/agent_cases_validation.jsonl";
  json broken = hand_case();
  broken["id"] = "broken-1";
  broken["answer_list"][0][1]["dependency_list"] = {2};
  {
    std::ofstream out(path);
    out << hand_case().dump() << "\n\n" << broken.dump() << "\n{not json\n";
  }
  int64_t n = 0;
  const auto report = validate_case_file(path, &n);
  EXPECT_EQ(n, 3);
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0], path + ":3: broken-1: answer_list[0]: the dependency graph has a cycle");
  EXPECT_EQ(report[1], path + ":4: not valid JSON");
  std::remove(path.c_str());
  EXPECT_THROW(validate_case_file(path), core::UserError);
}

// What a case file must be, checked before it is opened or read without bound.
TEST(CaseValidation, RefusesWhatIsNotARegularFileAndOverlongLines) {
  const std::string dir = ::testing::TempDir() + "/agent_cases_not_files";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto refused = [](const std::string& path, const std::string& says) {
    try {
      validate_case_file(path);
      ADD_FAILURE() << path << ": no UserError";
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  refused(dir, "is a directory");
  // A FIFO with no writer: opening it would block forever.
  const std::string fifo = dir + "/cases.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  refused(fifo, "not a regular file");
  refused("/dev/zero", "not a regular file");
  // One valid case, then a line with no end (a binary file): refused at that line, not read whole.
  const std::string big = dir + "/big.jsonl";
  {
    std::ofstream out(big);
    out << hand_case().dump() << "\n" << std::string(kMaxCaseLineBytes + 10, 'x');
  }
  refused(big, big + ":2: line longer than 16 MiB");
  std::filesystem::remove_all(dir);
}

TEST(CaseValidation, StopFlagEndsTheFileEarly) {
  const std::string path = ::testing::TempDir() + "/agent_cases_stop.jsonl";
  {
    std::ofstream out(path);
    for (int i = 0; i < 3; ++i) out << hand_case().dump() << "\n";
  }
  int64_t n = -1;
  std::atomic<bool> stop{false};
  EXPECT_TRUE(validate_case_file(path, &n, &stop).empty());
  EXPECT_EQ(n, 3);
  stop = true;
  EXPECT_TRUE(validate_case_file(path, &n, &stop).empty());
  EXPECT_EQ(n, 0);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace rlpp::env::agent

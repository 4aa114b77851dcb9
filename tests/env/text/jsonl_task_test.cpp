// JSONL user datasets: valid and malformed lines (reported with their line numbers, skipped or
// rejected), per-line graders, the seeded held-out split, sampling from the training part only, and
// the alphabet of the file's characters.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/env/text/jsonl_task.h"

namespace rlpp::env::text {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("rlpp_jsonl_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

const char* kMixed =
    "{\"prompt\": \"2+2=\", \"answer\": \"4\", \"solution\": \"2+2=4\\n4\"}\n"    // 1
    "\n"                                                                            // 2 blank
    "{\"prompt\": \"half of 1\", \"answer\": 0.5, \"grader\": \"numeric\"}\n"     // 3
    "{\"prompt\": \"broken\", \"answer\": \n"                                     // 4 bad JSON
    "[1, 2]\n"                                                                      // 5 not an object
    "{\"answer\": \"x\"}\n"                                                         // 6 no prompt
    "{\"prompt\": \"p\", \"answer\": [\"a\"]}\n"                                    // 7 list, exact grader
    "{\"prompt\": \"p\", \"answer\": \"a\", \"grader\": \"fuzzy\"}\n"              // 8 unknown grader
    "{\"prompt\": \"caf\xC3\xA9?\", \"answer\": \"\xCE\xB1\", \"id\": 7}\n"       // 9 unicode; extra key
    "{\"prompt\": \"color\", \"answer\": [\"red\", \"blue\"], \"grader\": \"set\"}\n"  // 10
    "{\"prompt\": \"bad utf8 \xFF\", \"answer\": \"1\"}\n"                         // 11 invalid UTF-8
    "{\"prompt\": \"p\", \"answer\": \"1\", \"solution\": 3}\n"                    // 12 solution not a string
    "{\"prompt\": \"boxed\", \"answer\": \"12\", \"grader\": \"boxed\"}\r\n";       // 13 CRLF

JsonlOptions options(const std::string& path) {
  JsonlOptions o;
  o.path = path;
  o.test_fraction = 0.0;
  return o;
}

TEST(TextJsonl, MalformedLinesAreSkippedWithTheirLineNumbers) {
  const std::string path = write_temp("mixed.jsonl", kMixed);
  JsonlTask task(options(path));
  EXPECT_EQ(task.train().size(), 5u);
  EXPECT_TRUE(task.test().empty());
  const auto& skipped = task.skipped();
  ASSERT_EQ(skipped.size(), 7u);
  const std::vector<int> bad_lines = {4, 5, 6, 7, 8, 11, 12};
  for (size_t i = 0; i < skipped.size(); ++i) {
    EXPECT_EQ(skipped[i].rfind(path + ":" + std::to_string(bad_lines[i]) + ": ", 0), 0u) << skipped[i];
  }
  EXPECT_NE(skipped[4].find("fuzzy"), std::string::npos);

  const auto& t = task.train();
  EXPECT_EQ(t[0].prompt, "2+2=");
  EXPECT_EQ(task.grade(t[0], t[0].solution), 1.0);
  EXPECT_EQ(task.grade(t[0], "5"), 0.0);
  EXPECT_EQ(t[1].answer, "0.5");
  EXPECT_EQ(task.grade(t[1], "1/2"), 1.0);  // the line's numeric grader
  EXPECT_EQ(task.grade(t[1], "0.6"), 0.0);
  EXPECT_EQ(t[2].solution, "\xCE\xB1");     // no solution: the answer
  EXPECT_EQ(task.grade(t[2], "\xCE\xB1"), 1.0);
  EXPECT_EQ(task.grade(t[3], "blue"), 1.0);  // set grader with a JSON list
  EXPECT_EQ(task.grade(t[3], "green"), 0.0);
  EXPECT_EQ(task.grade(t[4], "so \\boxed{12}"), 1.0);
  EXPECT_EQ(task.grade(t[4], "12"), 0.0);
  EXPECT_EQ(t[4].solution, "\\boxed{12}");
  EXPECT_EQ(t[3].solution, "red");
  EXPECT_TRUE(task.answer_parses(t[4], "\\boxed{7}"));
  EXPECT_FALSE(task.answer_parses(t[4], "7"));
  // every solution graded 1, a perturbed answer 0
  for (const auto& inst : t) {
    EXPECT_EQ(task.grade(inst, inst.solution), 1.0) << inst.prompt;
    EXPECT_EQ(task.grade(inst, inst.solution + "\n\\boxed{zz}\nzz"), 0.0) << inst.prompt;
  }

  // alphabet: exactly the code points of prompts, answers and solutions, plus '\n'
  std::set<std::string> want = {"\n"};
  for (const auto& inst : t) {
    for (const std::string* s : {&inst.prompt, &inst.answer, &inst.solution}) {
      for (size_t i = 0; i < s->size();) {
        const unsigned char c = static_cast<unsigned char>((*s)[i]);
        const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
        want.insert(s->substr(i, len));
        i += len;
      }
    }
  }
  std::string want_alphabet;
  for (const auto& c : want) want_alphabet += c;
  EXPECT_EQ(task.alphabet(), want_alphabet);
  EXPECT_NE(task.alphabet().find("\xC3\xA9"), std::string::npos);
  EXPECT_NE(task.alphabet().find("\xCE\xB1"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(TextJsonl, FailModeNamesTheFirstBadLine) {
  const std::string path = write_temp("fail.jsonl", kMixed);
  JsonlOptions o = options(path);
  o.on_error = "fail";
  try {
    JsonlTask task(o);
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":4:"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(TextJsonl, EmptyOrMissingFilesAreRejected) {
  const std::string empty = write_temp("empty.jsonl", "\n\n{\"x\": 1}\n");
  try {
    JsonlTask task(options(empty));
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(JsonlTask(options("/nonexistent/rlpp/data.jsonl")), core::UserError);
  EXPECT_THROW(JsonlTask(JsonlOptions{}), core::UserError);  // no path
  JsonlOptions bad_grader = options(empty);
  bad_grader.grader = "nope";
  EXPECT_THROW(JsonlTask{bad_grader}, core::UserError);
  std::filesystem::remove(empty);
}

TEST(TextJsonl, HeldOutSplitIsFixedBySeedAndSamplingUsesTrainOnly) {
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += "{\"prompt\": \"q" + std::to_string(i) + "\", \"answer\": \"" + std::to_string(i * i) + "\"}\n";
  }
  const std::string path = write_temp("split.jsonl", text);
  JsonlOptions o = options(path);
  o.test_fraction = 0.2;
  o.split_seed = 3;
  JsonlTask a(o), b(o);
  o.split_seed = 4;
  JsonlTask c(o);
  ASSERT_EQ(a.test().size(), 20u);
  ASSERT_EQ(a.train().size(), 80u);
  std::set<std::string> test_prompts, train_prompts;
  int same = 0;
  for (size_t i = 0; i < a.test().size(); ++i) {
    EXPECT_EQ(a.test()[i].prompt, b.test()[i].prompt);
    same += a.test()[i].prompt == c.test()[i].prompt;
    test_prompts.insert(a.test()[i].prompt);
  }
  EXPECT_LT(same, 10);
  for (const auto& t : a.train()) train_prompts.insert(t.prompt);
  EXPECT_EQ(test_prompts.size() + train_prompts.size(), 100u);
  core::Rng rng(1);
  std::set<std::string> drawn;
  for (int i = 0; i < 2000; ++i) {
    const auto t = a.sample(rng);
    EXPECT_EQ(test_prompts.count(t.prompt), 0u) << t.prompt;
    drawn.insert(t.prompt);
  }
  EXPECT_EQ(drawn.size(), 80u);
  // through the registry, with grader options in the same section
  auto recipe = core::Recipe::parse("[task]\nname = \"jsonl\"\npath = \"" + path +
                                        "\"\ngrader = \"numeric\"\nrel_tol = 0.5\ntest_fraction = 0.0\n",
                                    "t.toml");
  auto task = make_task("jsonl", recipe, "task");
  const TaskInstance q10{"q10", "100", "100"};
  EXPECT_EQ(task->grade(q10, "140"), 1.0);
  EXPECT_EQ(task->grade(q10, "160"), 0.0);
  auto typo = core::Recipe::parse("[task]\npath = \"" + path + "\"\non_error = \"ignore\"\n", "t.toml");
  EXPECT_THROW(make_task("jsonl", typo, "task"), core::UserError);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace rlpp::env::text
